-- ============================================================================
-- Migration: Late error
-- Date: 2026-11-21
-- Issue: #7
--
-- PROBLEM:
--   Workers need it.
-- SOLUTION:
--   Add it.
-- AFFECTED TABLES:
--   - public.job_queue
-- SOURCE OF TRUTH SCHEMA UPDATED:
--   [ ] current_schema/06_job_coordination.sql
-- SCHEMA DOCUMENTATION UPDATED:
--   [ ] bridge-schemas/source/pass-1/job_queue.md
-- MIGRATION STRATEGY:
--   One transaction.
-- MIGRATION EXECUTED:
--   [ ] Applied to <target> on <date>
-- ============================================================================

CREATE INDEX IF NOT EXISTS idx_jq_0 ON public.job_queue (created_at);
CREATE INDEX IF NOT EXISTS idx_jq_1 ON public.job_queue (created_at);
CREATE INDEX IF NOT EXISTS idx_jq_2 ON public.job_queue (created_at);
CREATE INDEX IF NOT EXISTS idx_jq_3 ON public.job_queue (created_at);
CREATE INDEX IF NOT EXISTS idx_jq_4 ON public.job_queue (created_at);
CREATE INDEX IF NOT EXISTS idx_jq_5 ON public.job_queue (created_at);
CREATE INDEX IF NOT EXISTS idx_jq_6 ON public.job_queue (created_at);
CREATE INDEX IF NOT EXISTS idx_jq_7 ON public.job_queue (created_at);
CREATE INDEX IF NOT EXISTS idx_jq_8 ON public.job_queue (created_at);
CREATE INDEX IF NOT EXISTS idx_jq_9 ON public.job_queue (created_at);
CREATE INDEX IF NOT EXISTS idx_jq_10 ON public.job_queue (created_at);
CREATE INDEX IF NOT EXISTS idx_jq_11 ON public.job_queue (created_at);
CREATE INDEX IF NOT EXISTS idx_jq_12 ON public.job_queue (created_at);
CREATE INDEX IF NOT EXISTS idx_jq_13 ON public.job_queue (created_at);
CREATE INDEX IF NOT EXISTS idx_jq_14 ON public.job_queue (created_at);
CREATE INDEX IF NOT EXISTS idx_jq_15 ON public.job_queue (created_at);
CREATE INDEX IF NOT EXISTS idx_jq_16 ON public.job_queue (created_at);
CREATE INDEX IF NOT EXISTS idx_jq_17 ON public.job_queue (created_at);
CREATE INDEX IF NOT EXISTS idx_jq_18 ON public.job_queue (created_at);
CREATE INDEX IF NOT EXISTS idx_jq_19 ON public.job_queue (created_at);
CREATE INDEX IF NOT EXISTS idx_jq_20 ON public.job_queue (created_at);
CREATE INDEX IF NOT EXISTS idx_jq_21 ON public.job_queue (created_at);
CREATE INDEX IF NOT EXISTS idx_jq_22 ON public.job_queue (created_at);
CREATE INDEX IF NOT EXISTS idx_jq_23 ON public.job_queue (created_at);
CREATE INDEX IF NOT EXISTS idx_jq_24 ON public.job_queue (created_at);
CREATE INDEX IF NOT EXISTS idx_jq_25 ON public.job_queue (created_at);
CREATE INDEX IF NOT EXISTS idx_jq_26 ON public.job_queue (created_at);
CREATE INDEX IF NOT EXISTS idx_jq_27 ON public.job_queue (created_at);
CREATE INDEX IF NOT EXISTS idx_jq_28 ON public.job_queue (created_at);
CREATE INDEX IF NOT EXISTS idx_jq_29 ON public.job_queue (created_at);
ALTER TABLE public.job_queue ALTER COLUMN retry_count SET DEFAUL 0;
