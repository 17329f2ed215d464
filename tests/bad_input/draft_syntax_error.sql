ALTER TABLE public.job_queue ADD COLUMN x integer
ALTER TABLE public.job_queue ADD COLUMN y integer;
