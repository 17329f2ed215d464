-- Fix things
-- PROBLEM: it broke
-- more text

select 1;
