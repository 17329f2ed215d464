-- ============================================================================
-- 06_job_coordination.sql
-- Job queue for the processing workers, and API rate limits.
-- ============================================================================
-- Workers (Render background services) poll claim_next_job(); the edge
-- function that receives an upload only inserts a shell file, and the
-- trigger at the end of this file enqueues the work. Keeping the queue in
-- Postgres means one transaction covers "row written" and "job queued".
-- ============================================================================

-- ----------------------------------------------------------------------------
-- job_queue
-- ----------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS public.job_queue (
    id                      uuid            PRIMARY KEY DEFAULT gen_random_uuid(),
    job_type                text            NOT NULL,       -- what to run; see job_queue_job_type_check
    job_lane                text,                           -- worker pool, e.g. ai_queue_simple, ai_queue_complex
    job_category            text            NOT NULL DEFAULT 'standard',
    job_name                text            NOT NULL,       -- human label shown in the ops dashboard
    job_payload             jsonb           NOT NULL DEFAULT '{}'::jsonb,
    patient_id              uuid            REFERENCES public.user_profiles(id) ON DELETE CASCADE,
    shell_file_id           uuid            REFERENCES public.shell_files(id) ON DELETE CASCADE,

    status                  public.job_status NOT NULL DEFAULT 'pending',
    scheduled_at            timestamptz     NOT NULL DEFAULT now(),   -- not claimable before this
    started_at              timestamptz,
    completed_at            timestamptz,
    worker_id               text,                           -- hostname:pid of the worker holding the job
    heartbeat_at            timestamptz,                    -- a processing job without a heartbeat for 5 min is reclaimed
    retry_count             integer         NOT NULL DEFAULT 0,
    max_retries             integer         NOT NULL DEFAULT 3,
    error_details           jsonb,
    job_result              jsonb,

    created_at              timestamptz     NOT NULL DEFAULT now(),
    updated_at              timestamptz     NOT NULL DEFAULT now(),
    -- Migration 02: Add processing time to job queue
    processing_time_minutes integer,                        -- wall time from started_at to completed_at, rounded up

    CONSTRAINT job_queue_job_type_check
        CHECK (job_type IN ('shell_file_processing', 'ai_processing', 'data_retention_cleanup',
                            'notification_delivery', 'report_generation')),
    CONSTRAINT job_queue_job_category_check
        CHECK (job_category IN ('critical', 'high_priority', 'standard', 'background', 'maintenance')),
    CONSTRAINT job_queue_retry_check
        CHECK (retry_count BETWEEN 0 AND max_retries)
);

COMMENT ON TABLE public.job_queue IS
    'Work for the background workers. Claimed with claim_next_job(), never by UPDATE from the client.';

CREATE INDEX IF NOT EXISTS idx_job_queue_claim
    ON public.job_queue (scheduled_at, created_at)
    WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS idx_job_queue_heartbeat
    ON public.job_queue (heartbeat_at)
    WHERE status = 'processing';
CREATE INDEX IF NOT EXISTS idx_job_queue_shell_file ON public.job_queue (shell_file_id);

CREATE TRIGGER update_job_queue_updated_at
    BEFORE UPDATE ON public.job_queue
    FOR EACH ROW EXECUTE FUNCTION public.update_updated_at_column();

ALTER TABLE public.job_queue ENABLE ROW LEVEL SECURITY;

-- Users may watch the progress of jobs about their own profiles; workers use
-- the service role and bypass RLS.
CREATE POLICY job_queue_owner_read ON public.job_queue
    FOR SELECT
    USING (patient_id IS NOT NULL AND public.has_profile_access(auth.uid(), patient_id));

-- ----------------------------------------------------------------------------
-- api_rate_limits
-- ----------------------------------------------------------------------------
-- Shared budget for calls to external AI providers across all workers. A
-- worker reserves capacity here before calling out.
CREATE TABLE IF NOT EXISTS public.api_rate_limits (
    id                      uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    provider_name           text        NOT NULL,           -- openai, google_vision, ...
    api_endpoint            text        NOT NULL DEFAULT '*',
    requests_per_minute     integer     NOT NULL,
    tokens_per_minute       integer,                        -- NULL for providers that do not meter tokens
    concurrent_requests     integer     NOT NULL DEFAULT 10,
    current_requests_minute integer     NOT NULL DEFAULT 0,
    current_tokens_minute   integer     NOT NULL DEFAULT 0,
    active_requests         integer     NOT NULL DEFAULT 0,
    minute_window_start     timestamptz NOT NULL DEFAULT now(),
    backoff_until           timestamptz,                    -- set after a 429; nobody calls before this
    active                  boolean     NOT NULL DEFAULT true,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT api_rate_limits_unique_endpoint UNIQUE (provider_name, api_endpoint)
);

CREATE TRIGGER update_api_rate_limits_updated_at
    BEFORE UPDATE ON public.api_rate_limits
    FOR EACH ROW EXECUTE FUNCTION public.update_updated_at_column();

-- RLS on with no policy: only the service role (which bypasses RLS) may touch it.
ALTER TABLE public.api_rate_limits ENABLE ROW LEVEL SECURITY;

-- ----------------------------------------------------------------------------
-- Queue functions
-- ----------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION public.enqueue_job(
    p_job_type      text,
    p_job_name      text,
    p_payload       jsonb       DEFAULT '{}'::jsonb,
    p_patient_id    uuid        DEFAULT NULL,
    p_shell_file_id uuid        DEFAULT NULL,
    p_scheduled_at  timestamptz DEFAULT now()
)
RETURNS uuid
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public
AS $$
DECLARE
    v_job_id uuid;
BEGIN
    INSERT INTO job_queue (job_type, job_name, job_payload, patient_id, shell_file_id, scheduled_at)
    VALUES (p_job_type, p_job_name, coalesce(p_payload, '{}'::jsonb), p_patient_id, p_shell_file_id,
            coalesce(p_scheduled_at, now()))
    RETURNING id INTO v_job_id;

    RETURN v_job_id;
END;
$$;

-- Claims the oldest due job. SKIP LOCKED lets any number of workers poll at
-- once without blocking on each other or claiming the same row.
CREATE OR REPLACE FUNCTION public.claim_next_job(p_worker text)
RETURNS SETOF public.job_queue
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public
AS $$
DECLARE
    v_job_id uuid;
BEGIN
    SELECT id
      INTO v_job_id
      FROM job_queue
     WHERE status = 'pending'
       AND scheduled_at <= now()
     ORDER BY scheduled_at, created_at
     LIMIT 1
     FOR UPDATE SKIP LOCKED;

    IF v_job_id IS NULL THEN
        RETURN;
    END IF;

    RETURN QUERY
    UPDATE job_queue
       SET status       = 'processing',
           worker_id    = p_worker,
           started_at   = now(),
           heartbeat_at = now()
     WHERE id = v_job_id
    RETURNING *;
END;
$$;

-- Marks a job done. Only the worker that holds the job may complete it, so a
-- job reclaimed after a lost heartbeat cannot be completed twice.
-- Migration 04: complete_job computes processing time
CREATE OR REPLACE FUNCTION public.complete_job(
    p_job_id    uuid,
    p_worker    text,
    p_result    jsonb DEFAULT NULL
)
RETURNS boolean
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public
AS $$
BEGIN
    UPDATE job_queue
       SET status                  = 'completed',
           completed_at            = now(),
           job_result              = p_result,
           -- computed here rather than by the worker, whose clock may drift
           processing_time_minutes = ceil(extract(epoch FROM (now() - started_at)) / 60.0)::integer
     WHERE id = p_job_id
       AND worker_id = p_worker
       AND status = 'processing';

    RETURN FOUND;
END;
$$;

REVOKE EXECUTE ON FUNCTION public.enqueue_job(text, text, jsonb, uuid, uuid, timestamptz) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION public.claim_next_job(text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION public.complete_job(uuid, text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.enqueue_job(text, text, jsonb, uuid, uuid, timestamptz) TO service_role;
GRANT EXECUTE ON FUNCTION public.claim_next_job(text) TO service_role;
GRANT EXECUTE ON FUNCTION public.complete_job(uuid, text, jsonb) TO service_role;

-- ----------------------------------------------------------------------------
-- Enqueue on upload
-- ----------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION public.enqueue_shell_file_processing()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public
AS $$
BEGIN
    PERFORM enqueue_job(
        'shell_file_processing',
        'Process ' || NEW.original_filename,
        jsonb_build_object('shell_file_id', NEW.id, 'storage_path', NEW.storage_path, 'mime_type', NEW.mime_type),
        NEW.patient_id,
        NEW.id
    );
    RETURN NEW;
END;
$$;

CREATE TRIGGER shell_files_enqueue_processing
    AFTER INSERT ON public.shell_files
    FOR EACH ROW EXECUTE FUNCTION public.enqueue_shell_file_processing();

-- ----------------------------------------------------------------------------
-- job_queue_summary
-- ----------------------------------------------------------------------------
-- Ops dashboard view. security_invoker so that a signed-in user sees only the
-- rows RLS lets them see, not the whole queue.
CREATE OR REPLACE VIEW public.job_queue_summary
WITH (security_invoker = true) AS
SELECT
    job_type,
    status,
    count(*)                            AS job_count,
    min(scheduled_at)                   AS oldest_scheduled_at,
    max(updated_at)                     AS last_activity_at,
    round(avg(retry_count), 2)          AS avg_retries,
    round(avg(processing_time_minutes), 1) AS avg_processing_time_minutes   -- Migration 02
FROM public.job_queue
GROUP BY job_type, status;

GRANT SELECT ON public.job_queue_summary TO authenticated;
GRANT SELECT ON public.job_queue_summary TO service_role;
