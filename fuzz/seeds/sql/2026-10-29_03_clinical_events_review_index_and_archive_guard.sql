-- ============================================================================
-- Migration: Review queue index and archived-event guard
-- Date: 2026-10-29
-- Issue: #187 Review queue slow for large profiles; archived events edited by sync
--
-- PROBLEM:
--   The review queue filters clinical events on requires_review and archived; with
--   no matching index it scans every event of the profile (p95 1.8 s). Separately,
--   the calendar sync edited archived events, which should be read-only.
--
-- SOLUTION:
--   A partial index on (patient_id, created_at) covering only events awaiting
--   review, which is a small slice of the table. A RESTRICTIVE update policy so
--   that no permissive policy, present or future, can let a user edit an archived event.
--
-- AFFECTED TABLES:
--   - public.patient_clinical_events
--
-- SOURCE OF TRUTH SCHEMA UPDATED:
--   [X] current_schema/04_clinical.sql
--      - Line 66: Added index idx_patient_clinical_events_review_queue (lines 66-68)
--      - Line 294: Added policy patient_clinical_events_archived_readonly (lines 294-297)
--
-- SCHEMA DOCUMENTATION UPDATED:
--   [X] bridge-schemas/source/pass-1/patient_clinical_events.md
--   [X] bridge-schemas/detailed/pass-1/patient_clinical_events.json
--   [X] bridge-schemas/minimal/pass-1/patient_clinical_events.json
--   [X] bridge-schemas/source/pass-2/patient_clinical_events.md
--   [X] bridge-schemas/detailed/pass-2/patient_clinical_events.json
--   [X] bridge-schemas/minimal/pass-2/patient_clinical_events.json
--
-- IMPACT ANALYSIS:
--   1. line 57: CREATE INDEX IF NOT EXISTS idx_patient_clinical_events_review_queue ON public.patient_clinical_events
--      target: table public.patient_clinical_events (current_schema/04_clinical.sql:18-53)
--      columns: patient_id (line 20), created_at (line 44), requires_review (line 41), archived (line 43)
--   2. line 61: CREATE POLICY patient_clinical_events_archived_readonly ON public.patient_clinical_events
--      target: table public.patient_clinical_events (current_schema/04_clinical.sql:18-53)
--      combines with: policy patient_clinical_events_access (current_schema/04_clinical.sql:286-289)
--
-- LOCKS AND REWRITES:
--   1. line 57: SHARE on public.patient_clinical_events (blocks writes, not reads); no rewrite, full scan to build the index
--   2. line 61: ACCESS EXCLUSIVE on public.patient_clinical_events; no rewrite, no scan
--
-- MIGRATION STRATEGY:
--   Applied by hand in the Supabase SQL editor during the Sunday window, then recorded
--   with touchpoint finalize --no-execute. Not CONCURRENTLY because it ran in one
--   transaction with the policy; the build took 3.1 s on 420k rows, writes waited.
--
-- REVIEW:
--   [X] Reviewed by priya on 2026-10-28 (sql sha256: 1ed8e0a4b5b34390d1601f25605213feb53faed428cd902e1c1e414a0087b34e)
--
-- MIGRATION EXECUTED:
--   [X] Applied to production (Supabase SQL editor) on 2026-10-29 via touchpoint finalize --no-execute
-- ============================================================================

-- Only events awaiting review are indexed; that is about 3% of the table.
CREATE INDEX IF NOT EXISTS idx_patient_clinical_events_review_queue
    ON public.patient_clinical_events (patient_id, created_at)
    WHERE requires_review AND NOT archived;

CREATE POLICY patient_clinical_events_archived_readonly ON public.patient_clinical_events
    AS RESTRICTIVE
    FOR UPDATE
    USING (NOT archived);

-- ============================================================================
-- VERIFICATION QUERY
-- ============================================================================
/*
SELECT indexname, indexdef
  FROM pg_indexes
 WHERE schemaname = 'public'
   AND indexname  = 'idx_patient_clinical_events_review_queue';
-- Expected: one row, a partial index WHERE (requires_review AND (NOT archived))

SELECT policyname, permissive, cmd, qual
  FROM pg_policies
 WHERE schemaname = 'public'
   AND tablename  = 'patient_clinical_events'
   AND policyname = 'patient_clinical_events_archived_readonly';
-- Expected: RESTRICTIVE | UPDATE | (NOT archived)
*/

-- ============================================================================
-- ROLLBACK SCRIPT
-- Kept inside a comment block so that it never runs by accident;
-- `touchpoint rollback` runs it.
-- ============================================================================
/*
DROP POLICY IF EXISTS patient_clinical_events_archived_readonly ON public.patient_clinical_events;
DROP INDEX IF EXISTS public.idx_patient_clinical_events_review_queue;
*/
