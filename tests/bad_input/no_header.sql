ALTER TABLE public.job_queue ADD COLUMN retry_after timestamptz;
