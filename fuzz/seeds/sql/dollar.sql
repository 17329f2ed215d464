create function f() returns int language plpgsql as $body$ begin return 1; end $body$;
select $$a;b$$, $tag$ $$ $tag$;
