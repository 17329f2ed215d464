create or replace function g() returns int language sql begin atomic select 1; select case when true then 2 end; end;
\echo done
