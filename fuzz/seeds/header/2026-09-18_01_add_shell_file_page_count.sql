-- ============================================================================
-- Migration: Add page count to shell files
-- Date: 2026-09-18
-- Issue: #118 Document list cannot show how many pages an upload has
--
-- PROBLEM:
--   The document list shows "processing" and "done" but not how long a document
--   is; the app counts document_pages rows for every card, one query per card.
--   On profiles with 300+ uploads the list takes several seconds to render.
--
-- SOLUTION:
--   Store the page count on shell_files, written by pass 1 when it splits the
--   file into pages. Backfill existing files from document_pages in the same
--   migration. A plain nullable integer: NULL means "not split yet".
--
-- AFFECTED TABLES:
--   - public.shell_files
--
-- SOURCE OF TRUTH SCHEMA UPDATED:
--   [X] current_schema/03_documents.sql
--      - Line 43: Added page_count (note comment on line 42)
--
-- SCHEMA DOCUMENTATION UPDATED:
--   [X] bridge-schemas/source/pass-1/shell_files.md
--   [X] bridge-schemas/detailed/pass-1/shell_files.json
--   [X] bridge-schemas/minimal/pass-1/shell_files.json
--
-- IMPACT ANALYSIS:
--   1. line 78: ALTER TABLE public.shell_files ADD COLUMN IF NOT EXISTS page_count integer
--      target: table public.shell_files (current_schema/03_documents.sql:14-44)
--      dependents: index idx_shell_files_patient (current_schema/03_documents.sql:51)
--                  index idx_shell_files_status (current_schema/03_documents.sql:52)
--                  index idx_shell_files_hash (current_schema/03_documents.sql:53)
--                  index idx_shell_files_filename_trgm (current_schema/03_documents.sql:55)
--                  trigger update_shell_files_updated_at (current_schema/03_documents.sql:57-59)
--                  foreign key public.document_pages.shell_file_id (current_schema/03_documents.sql:66)
--                  policy shell_files_select (current_schema/03_documents.sql:89-91)
--                  policy shell_files_insert (current_schema/03_documents.sql:93-95)
--                  policy shell_files_update (current_schema/03_documents.sql:99-102)
--                  policy shell_files_delete (current_schema/03_documents.sql:104-106)
--                  policy document_pages_select (current_schema/03_documents.sql:108-116)
--                  foreign key public.patient_clinical_events.shell_file_id (current_schema/04_clinical.sql:21)
--                  foreign key public.patient_observations.shell_file_id (current_schema/04_clinical.sql:81)
--                  foreign key public.patient_medications.shell_file_id (current_schema/04_clinical.sql:118)
--                  foreign key public.patient_conditions.shell_file_id (current_schema/04_clinical.sql:173)
--                  foreign key public.patient_allergies.shell_file_id (current_schema/04_clinical.sql:203)
--                  foreign key public.patient_vitals.shell_file_id (current_schema/04_clinical.sql:232)
--                  foreign key public.patient_immunizations.shell_file_id (current_schema/04_clinical.sql:266)
--                  foreign key public.ai_processing_sessions.shell_file_id (current_schema/05_ai_processing.sql:21)
--                  foreign key public.pass1_entity_metrics.shell_file_id (current_schema/05_ai_processing.sql:54)
--                  foreign key public.pass2_clinical_metrics.shell_file_id (current_schema/05_ai_processing.sql:88)
--                  foreign key public.entity_processing_audit.shell_file_id (current_schema/05_ai_processing.sql:123)
--                  policy entity_processing_audit_read (current_schema/05_ai_processing.sql:172-180)
--                  foreign key public.job_queue.shell_file_id (current_schema/06_job_coordination.sql:22)
--                  trigger shell_files_enqueue_processing (current_schema/06_job_coordination.sql:222-224)
--   2. line 83: UPDATE public.shell_files SET page_count = ... FROM public.document_pages
--      target: rows of public.shell_files (current_schema/03_documents.sql:14-44)
--      reads: table public.document_pages (current_schema/03_documents.sql:64-75)
--      fires: trigger update_shell_files_updated_at (current_schema/03_documents.sql:57-59)
--
-- LOCKS AND REWRITES:
--   1. line 78: ACCESS EXCLUSIVE on public.shell_files; no rewrite, no scan (nullable column without default)
--   2. line 83: ROW EXCLUSIVE on public.shell_files, ACCESS SHARE on public.document_pages; no rewrite, full scan of both (updates every split file)
--
-- MIGRATION STRATEGY:
--   One transaction. The ALTER is catalog-only and holds its lock for milliseconds.
--   The backfill touched 41k rows in staging in 2.3 s; run it outside the evening
--   upload peak. updated_at moves on backfilled rows; nothing sorts on it for files.
--   Deploy the pass-1 worker change that writes page_count right after this.
--
-- REVIEW:
--   [X] Reviewed by dana on 2026-09-18 (sql sha256: ffd3847790a94016f3430a8c7488ec6984a845cee367e32300df08880b4fee52)
--
-- MIGRATION EXECUTED:
--   [X] Applied to embedded throwaway database on 2026-09-18 via touchpoint finalize
-- ============================================================================

ALTER TABLE public.shell_files
    ADD COLUMN IF NOT EXISTS page_count integer;

-- Backfill from the pages pass 1 has already split out. Files still waiting
-- for pass 1 have no pages and keep NULL until the worker sets the count.
UPDATE public.shell_files sf
   SET page_count = p.pages
  FROM (
        SELECT shell_file_id, count(*)::integer AS pages
          FROM public.document_pages
         GROUP BY shell_file_id
       ) p
 WHERE p.shell_file_id = sf.id
   AND sf.page_count IS NULL;

-- ============================================================================
-- VERIFICATION QUERY
-- ============================================================================
/*
-- The column exists, is an integer and is nullable.
SELECT column_name, data_type, is_nullable
  FROM information_schema.columns
 WHERE table_schema = 'public'
   AND table_name   = 'shell_files'
   AND column_name  = 'page_count';
-- Expected: page_count | integer | YES

-- Every split file carries the same count as its pages.
SELECT count(*) AS mismatched
  FROM public.shell_files sf
  JOIN (
        SELECT shell_file_id, count(*) AS pages
          FROM public.document_pages
         GROUP BY shell_file_id
       ) p ON p.shell_file_id = sf.id
 WHERE sf.page_count IS DISTINCT FROM p.pages;
-- Expected: 0
*/

-- ============================================================================
-- ROLLBACK SCRIPT
-- Kept inside a comment block so that it never runs by accident;
-- `touchpoint rollback` runs it.
-- ============================================================================
/*
-- The counts can be rebuilt from document_pages, so nothing is lost.
ALTER TABLE public.shell_files DROP COLUMN IF EXISTS page_count;
*/
