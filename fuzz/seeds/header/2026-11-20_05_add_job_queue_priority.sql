-- ============================================================================
-- Migration: Add priority to job queue
-- Date: 2026-11-20
-- Issue: #211 Re-processing backlog delays fresh uploads
--
-- PROBLEM:
--   After a model upgrade we enqueue thousands of reprocessing jobs at once. They
--   are claimed in scheduled_at order, so a patient who uploads a document now
--   waits behind the whole backlog, sometimes for hours.
--
-- SOLUTION:
--   Add job_queue.priority (1 = most urgent, 10 = least, default 5) and a partial
--   index matching the claim order (priority, scheduled_at, created_at) over pending
--   jobs. claim_next_job() switches to that order in a follow-up migration.
--
-- AFFECTED TABLES:
--   - public.job_queue
--
-- SOURCE OF TRUTH SCHEMA UPDATED:
--   [ ] current_schema/06_job_coordination.sql
--      - public.job_queue (lines 14-47): add priority as the last column, after processing_time_minutes (line 38)
--      - add index idx_job_queue_claim_priority after idx_job_queue_shell_file (line 58)
--
-- SCHEMA DOCUMENTATION UPDATED:
--   [ ] bridge-schemas/source/pass-1/job_queue.md
--   [ ] bridge-schemas/detailed/pass-1/job_queue.json
--
-- IMPACT ANALYSIS:
--   1. line 60: ALTER TABLE public.job_queue ADD COLUMN IF NOT EXISTS priority smallint NOT NULL DEFAULT 5 CHECK (...)
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
--   2. line 66: CREATE INDEX IF NOT EXISTS idx_job_queue_claim_priority ON public.job_queue
--      target: table public.job_queue (current_schema/06_job_coordination.sql:14-47)
--      overlaps: index idx_job_queue_claim (current_schema/06_job_coordination.sql:52-54); drop it once claim_next_job uses priority
--
-- LOCKS AND REWRITES:
--   1. line 60: ACCESS EXCLUSIVE on public.job_queue; no rewrite (constant default kept in the catalog), full scan to validate job_queue_priority_check
--   2. line 66: SHARE on public.job_queue (blocks writes, not reads); no rewrite, scans the table to build the index
--
-- MIGRATION STRATEGY:
--   One transaction with lock_timeout = 2s. job_queue holds about 60k rows (completed
--   jobs are purged after 30 days), so the check scan and the index build take well
--   under a second. Run between upload peaks; workers retry a failed claim anyway.
--
-- REVIEW:
--   [ ] Reviewed by <reviewer> on <date>
--
-- MIGRATION EXECUTED:
--   [ ] Applied to <target> on <date>
-- ============================================================================

ALTER TABLE public.job_queue
    ADD COLUMN IF NOT EXISTS priority smallint NOT NULL DEFAULT 5
        CONSTRAINT job_queue_priority_check CHECK (priority BETWEEN 1 AND 10);

-- Matches the claim order claim_next_job() will use; pending jobs only, like
-- idx_job_queue_claim, which becomes redundant once the function switches.
CREATE INDEX IF NOT EXISTS idx_job_queue_claim_priority
    ON public.job_queue (priority, scheduled_at, created_at)
    WHERE status = 'pending';

-- ============================================================================
-- VERIFICATION QUERY
-- ============================================================================
/*
SELECT column_name, data_type, is_nullable, column_default
  FROM information_schema.columns
 WHERE table_schema = 'public'
   AND table_name   = 'job_queue'
   AND column_name  = 'priority';
-- Expected: priority | smallint | NO | 5

SELECT count(*) AS out_of_range
  FROM public.job_queue
 WHERE priority NOT BETWEEN 1 AND 10;
-- Expected: 0

SELECT indexdef
  FROM pg_indexes
 WHERE schemaname = 'public'
   AND indexname  = 'idx_job_queue_claim_priority';
-- Expected: one row
*/

-- ============================================================================
-- ROLLBACK SCRIPT
-- Kept inside a comment block so that it never runs by accident;
-- `touchpoint rollback` runs it.
-- ============================================================================
/*
DROP INDEX IF EXISTS public.idx_job_queue_claim_priority;
ALTER TABLE public.job_queue DROP COLUMN IF EXISTS priority;
*/
