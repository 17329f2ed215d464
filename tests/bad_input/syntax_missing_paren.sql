-- ============================================================================
-- Migration: Missing paren
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

CREATE TABLE public.job_notes (
    id uuid PRIMARY KEY,
    body text NOT NULL;
