-- ============================================================================
-- 05_ai_processing.sql
-- AI processing sessions, per-pass metrics and the entity audit trail.
-- ============================================================================
-- Pass 1 reads a shell file and detects entities (what is on the page).
-- Pass 2 enriches the clinical entities into the tables of 04_clinical.sql.
-- These tables record what each pass did and what it cost, so that a bad
-- extraction can be traced to the model and session that produced it.
-- ============================================================================

\echo '05_ai_processing: sessions, metrics, entity audit'

-- ----------------------------------------------------------------------------
-- ai_processing_sessions
-- ----------------------------------------------------------------------------
-- One session per attempt at processing a shell file. A re-run after a model
-- upgrade is a new session; the old one stays for comparison.
CREATE TABLE IF NOT EXISTS public.ai_processing_sessions (
    id                  uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    patient_id          uuid        NOT NULL REFERENCES public.user_profiles(id) ON DELETE CASCADE,
    shell_file_id       uuid        NOT NULL REFERENCES public.shell_files(id) ON DELETE CASCADE,
    session_type        text        NOT NULL DEFAULT 'shell_file_processing'
                                    CHECK (session_type IN ('shell_file_processing', 'reprocessing', 'manual_review')),
    session_status      text        NOT NULL DEFAULT 'initialized'
                                    CHECK (session_status IN ('initialized', 'processing', 'completed', 'failed', 'cancelled')),
    workflow_step       text        NOT NULL DEFAULT 'pass1',   -- pass1, pass2, review, done
    total_steps         integer     NOT NULL DEFAULT 2,
    completed_steps     integer     NOT NULL DEFAULT 0,
    ai_model_name       text,                               -- model family for the session, e.g. gpt-5-mini
    started_at          timestamptz,
    completed_at        timestamptz,
    error_message       text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT ai_processing_sessions_steps_check CHECK (completed_steps BETWEEN 0 AND total_steps)
);

CREATE INDEX IF NOT EXISTS idx_ai_processing_sessions_shell_file ON public.ai_processing_sessions (shell_file_id);

CREATE TRIGGER update_ai_processing_sessions_updated_at
    BEFORE UPDATE ON public.ai_processing_sessions
    FOR EACH ROW EXECUTE FUNCTION public.update_updated_at_column();

-- ----------------------------------------------------------------------------
-- Pass metrics
-- ----------------------------------------------------------------------------
-- The two metrics tables are created together: the cost dashboard joins them
-- and fails if only one exists, so a half-applied file must not be possible.
BEGIN;

CREATE TABLE IF NOT EXISTS public.pass1_entity_metrics (
    id                          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    profile_id                  uuid        NOT NULL REFERENCES public.user_profiles(id) ON DELETE CASCADE,
    shell_file_id               uuid        NOT NULL REFERENCES public.shell_files(id) ON DELETE CASCADE,
    processing_session_id       uuid        NOT NULL REFERENCES public.ai_processing_sessions(id) ON DELETE CASCADE,

    -- What pass 1 found
    entities_detected           integer     NOT NULL,       -- all entities, including document structure
    clinical_entities_found     integer     NOT NULL DEFAULT 0,
    context_entities_found      integer     NOT NULL DEFAULT 0,   -- healthcare context: provider, facility, dates
    structure_entities_found    integer     NOT NULL DEFAULT 0,   -- headers, footers, signatures; not sent to pass 2
    entity_types_found          text[]      NOT NULL DEFAULT '{}',
    confidence_distribution     jsonb,                      -- {"high": n, "medium": n, "low": n}

    -- How it found it
    vision_model_used           text        NOT NULL,
    ocr_model_used              text,                       -- NULL when the document had a text layer
    ocr_agreement_average       public.confidence_score,    -- mean agreement between OCR and vision readings
    processing_time_ms          integer     NOT NULL,

    -- What it cost
    input_tokens                integer,
    output_tokens               integer,
    total_tokens                integer     GENERATED ALWAYS AS (coalesce(input_tokens, 0) + coalesce(output_tokens, 0)) STORED,
    cost_usd                    numeric(10,6),

    created_at                  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pass1_entity_metrics_counts_check
        CHECK (entities_detected >= clinical_entities_found + context_entities_found + structure_entities_found)
);

COMMENT ON TABLE public.pass1_entity_metrics IS
    'One row per pass-1 run on a shell file: entity counts, models, timing and token cost.';

CREATE TABLE IF NOT EXISTS public.pass2_clinical_metrics (
    id                          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    profile_id                  uuid        NOT NULL REFERENCES public.user_profiles(id) ON DELETE CASCADE,
    shell_file_id               uuid        NOT NULL REFERENCES public.shell_files(id) ON DELETE CASCADE,
    processing_session_id       uuid        NOT NULL REFERENCES public.ai_processing_sessions(id) ON DELETE CASCADE,

    clinical_entities_enriched  integer     NOT NULL,       -- entities pass 1 handed over that pass 2 turned into rows
    schemas_used                text[]      NOT NULL DEFAULT '{}',  -- bridge schemas loaded into the prompt
    clinical_events_created     integer     NOT NULL DEFAULT 0,
    observations_created        integer     NOT NULL DEFAULT 0,
    medications_created         integer     NOT NULL DEFAULT 0,
    conditions_created          integer     NOT NULL DEFAULT 0,
    validation_errors           integer     NOT NULL DEFAULT 0,   -- rows rejected by constraints and retried or dropped

    ai_model_used               text        NOT NULL,
    processing_time_ms          integer     NOT NULL,
    input_tokens                integer,
    output_tokens               integer,
    cost_usd                    numeric(10,6),

    created_at                  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS idx_pass1_entity_metrics_shell_file ON public.pass1_entity_metrics (shell_file_id);
CREATE INDEX IF NOT EXISTS idx_pass1_entity_metrics_session    ON public.pass1_entity_metrics (processing_session_id);
CREATE INDEX IF NOT EXISTS idx_pass2_clinical_metrics_shell_file ON public.pass2_clinical_metrics (shell_file_id);
CREATE INDEX IF NOT EXISTS idx_pass2_clinical_metrics_session    ON public.pass2_clinical_metrics (processing_session_id);

COMMIT;

-- ----------------------------------------------------------------------------
-- entity_processing_audit
-- ----------------------------------------------------------------------------
-- Every entity pass 1 detected, and what became of it in pass 2. Lets a
-- reviewer click on a clinical row and see the exact text and page it came
-- from, and lets us find entities that were detected but never stored.
CREATE TABLE IF NOT EXISTS public.entity_processing_audit (
    id                      uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    shell_file_id           uuid        NOT NULL REFERENCES public.shell_files(id) ON DELETE CASCADE,
    processing_session_id   uuid        NOT NULL REFERENCES public.ai_processing_sessions(id) ON DELETE CASCADE,
    entity_id               text        NOT NULL,           -- pass-1 local id, e.g. 'ent_014'; unique per session
    original_text           text        NOT NULL,           -- the span as read from the page
    entity_category         text        NOT NULL
                                        CHECK (entity_category IN ('clinical_event', 'healthcare_context', 'document_structure')),
    entity_subtype          text        NOT NULL,           -- e.g. vital_sign, medication, patient_identifier
    pass1_confidence        public.confidence_score NOT NULL,
    location_context        jsonb,                          -- {"page": 2, "bbox": [x, y, w, h]}
    requires_schemas        text[]      NOT NULL DEFAULT '{}',
    pass2_status            text        NOT NULL DEFAULT 'pending'
                                        CHECK (pass2_status IN ('pending', 'skipped', 'completed', 'failed')),
    final_event_id          uuid        REFERENCES public.patient_clinical_events(id) ON DELETE SET NULL,
    final_table             text,                           -- detail table the entity ended in, e.g. patient_observations
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT entity_processing_audit_unique_entity UNIQUE (processing_session_id, entity_id)
);

CREATE INDEX IF NOT EXISTS idx_entity_processing_audit_pending
    ON public.entity_processing_audit (processing_session_id)
    WHERE pass2_status = 'pending';

CREATE TRIGGER update_entity_processing_audit_updated_at
    BEFORE UPDATE ON public.entity_processing_audit
    FOR EACH ROW EXECUTE FUNCTION public.update_updated_at_column();

-- ----------------------------------------------------------------------------
-- Row level security
-- ----------------------------------------------------------------------------
-- Users may see how their documents were processed (the app shows model and
-- confidence); only the service role writes here.
ALTER TABLE public.ai_processing_sessions  ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.pass1_entity_metrics    ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.pass2_clinical_metrics  ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.entity_processing_audit ENABLE ROW LEVEL SECURITY;

CREATE POLICY ai_processing_sessions_read ON public.ai_processing_sessions
    FOR SELECT
    USING (public.has_profile_access(auth.uid(), patient_id) OR public.is_admin());

CREATE POLICY pass1_entity_metrics_read ON public.pass1_entity_metrics
    FOR SELECT
    USING (public.has_profile_access(auth.uid(), profile_id) OR public.is_admin());

CREATE POLICY pass2_clinical_metrics_read ON public.pass2_clinical_metrics
    FOR SELECT
    USING (public.has_profile_access(auth.uid(), profile_id) OR public.is_admin());

CREATE POLICY entity_processing_audit_read ON public.entity_processing_audit
    FOR SELECT
    USING (
        EXISTS (
            SELECT 1 FROM public.shell_files sf
             WHERE sf.id = entity_processing_audit.shell_file_id
               AND public.has_profile_access(auth.uid(), sf.patient_id)
        )
    );
