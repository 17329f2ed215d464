\set ON_ERROR_STOP on
\i other.sql
create table t (id int -- trailing; comment
, b text);
