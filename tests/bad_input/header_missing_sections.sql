-- ============================================================================
-- Migration: Old style
-- Date: 2026-11-21
--
-- PROBLEM:
--   Old header.
-- ============================================================================

ALTER TABLE public.job_queue ADD COLUMN retry_after timestamptz;
