-- ==========
-- Migration: x
-- PROBLEM:
--   p
-- MIGRATION EXECUTED:
--   [ ] Applied to <target> on <date>
-- ==========
select 1;
