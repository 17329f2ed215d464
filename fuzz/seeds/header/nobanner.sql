-- ============
-- Migration: y
-- SOLUTION:
--   [x] done
-- SOLUTION:
-- twice
select 1;
