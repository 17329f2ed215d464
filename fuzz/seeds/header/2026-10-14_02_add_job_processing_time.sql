-- ============================================================================
-- Migration: Add processing time to job queue
-- Date: 2026-10-14
-- Issue: #164 Ops dashboard needs job durations per job type
--
-- PROBLEM:
--   We cannot tell which job types are slow. Durations only exist in worker logs,
--   which Render keeps for seven days, and started_at/completed_at are not enough
--   for retried jobs because started_at is overwritten on every claim.
--
-- SOLUTION:
--   Add job_queue.processing_time_minutes, written when a job completes, and
--   expose its average per job type and status in job_queue_summary. Minutes, not
--   milliseconds: the dashboard only needs minutes and an integer is enough.
--
-- AFFECTED TABLES:
--   - public.job_queue
--
-- SOURCE OF TRUTH SCHEMA UPDATED:
--   [X] current_schema/06_job_coordination.sql
--      - Line 38: Added processing_time_minutes (note comment on line 37)
--      - Line 240: job_queue_summary gained avg_processing_time_minutes
--
-- SCHEMA DOCUMENTATION UPDATED:
--   [X] bridge-schemas/source/pass-1/job_queue.md
--   [X] bridge-schemas/detailed/pass-1/job_queue.json
--   [N/A] bridge-schemas/minimal/pass-1/job_queue.json (job_queue has no minimal tier; it is never sent to the AI passes)
--
-- IMPACT ANALYSIS:
--   1. line 62: ALTER TABLE public.job_queue ADD COLUMN IF NOT EXISTS processing_time_minutes integer
--      target: table public.job_queue (current_schema/06_job_coordination.sql:14-47)
--      dependents: index idx_job_queue_claim (current_schema/06_job_coordination.sql:52-54)
--                  index idx_job_queue_heartbeat (current_schema/06_job_coordination.sql:55-57)
--                  index idx_job_queue_shell_file (current_schema/06_job_coordination.sql:58)
--                  trigger update_job_queue_updated_at (current_schema/06_job_coordination.sql:60-62)
--                  policy job_queue_owner_read (current_schema/06_job_coordination.sql:68-70)
--                  function public.enqueue_job (current_schema/06_job_coordination.sql:106-129)
--                  function public.claim_next_job (current_schema/06_job_coordination.sql:133-164)
--                  function public.complete_job (current_schema/06_job_coordination.sql:169-192)
--                  view public.job_queue_summary (current_schema/06_job_coordination.sql:231-242)
--   2. line 68: CREATE OR REPLACE VIEW public.job_queue_summary
--      target: view public.job_queue_summary (current_schema/06_job_coordination.sql:231-242)
--      reads: table public.job_queue (current_schema/06_job_coordination.sql:14-47)
--      grants kept: SELECT to authenticated, service_role (current_schema/06_job_coordination.sql:244-245)
--
-- LOCKS AND REWRITES:
--   1. line 62: ACCESS EXCLUSIVE on public.job_queue; no rewrite, no scan (nullable column without default)
--   2. line 68: ACCESS EXCLUSIVE on view public.job_queue_summary, ACCESS SHARE on public.job_queue; no rewrite, no scan
--
-- MIGRATION STRATEGY:
--   One transaction, catalog-only; the queue is busy, so set lock_timeout = 2s and
--   retry rather than queue behind a long claim. Existing rows stay NULL: we do not
--   backfill guesses. The worker release that writes the column ships the same day.
--
-- REVIEW:
--   [X] Reviewed by dana on 2026-10-14 (sql sha256: 4b3ae67bbc91fe360fc93b153f84cd7bb3492f43d34175ab87bc7985a25022c4)
--
-- MIGRATION EXECUTED:
--   [X] Applied to embedded throwaway database on 2026-10-14 via touchpoint finalize
-- ============================================================================

ALTER TABLE public.job_queue
    ADD COLUMN IF NOT EXISTS processing_time_minutes integer;

-- The new column goes last, so CREATE OR REPLACE VIEW accepts the change
-- (existing output columns keep their names, types and order) and the
-- grants on the view are kept.
CREATE OR REPLACE VIEW public.job_queue_summary
WITH (security_invoker = true) AS
SELECT
    job_type,
    status,
    count(*)                            AS job_count,
    min(scheduled_at)                   AS oldest_scheduled_at,
    max(updated_at)                     AS last_activity_at,
    round(avg(retry_count), 2)          AS avg_retries,
    round(avg(processing_time_minutes), 1) AS avg_processing_time_minutes
FROM public.job_queue
GROUP BY job_type, status;

-- ============================================================================
-- VERIFICATION QUERY
-- ============================================================================
/*
SELECT column_name, data_type, is_nullable
  FROM information_schema.columns
 WHERE table_schema = 'public'
   AND table_name   = 'job_queue'
   AND column_name  = 'processing_time_minutes';
-- Expected: processing_time_minutes | integer | YES

SELECT column_name
  FROM information_schema.columns
 WHERE table_schema = 'public'
   AND table_name   = 'job_queue_summary'
 ORDER BY ordinal_position DESC
 LIMIT 1;
-- Expected: avg_processing_time_minutes
*/

-- ============================================================================
-- ROLLBACK SCRIPT
-- Kept inside a comment block so that it never runs by accident;
-- `touchpoint rollback` runs it.
-- ============================================================================
/*
-- Roll back 2026-11-06_04 first: complete_job() writes this column.
-- A view cannot lose a column through CREATE OR REPLACE, so drop and
-- recreate it, then restore its grants.
DROP VIEW IF EXISTS public.job_queue_summary;

ALTER TABLE public.job_queue DROP COLUMN IF EXISTS processing_time_minutes;

CREATE VIEW public.job_queue_summary
WITH (security_invoker = true) AS
SELECT
    job_type,
    status,
    count(*)                            AS job_count,
    min(scheduled_at)                   AS oldest_scheduled_at,
    max(updated_at)                     AS last_activity_at,
    round(avg(retry_count), 2)          AS avg_retries
FROM public.job_queue
GROUP BY job_type, status;

GRANT SELECT ON public.job_queue_summary TO authenticated;
GRANT SELECT ON public.job_queue_summary TO service_role;
*/
