-- ============================================================================
-- 04_clinical.sql
-- Clinical data extracted from documents: events and their detail tables.
-- ============================================================================
-- patient_clinical_events is the hub: every clinically meaningful thing the
-- AI passes find in a document becomes one event (a blood test, a GP visit, a
-- vaccination). Detail tables (observations, medications, conditions, ...)
-- hold the structured specifics and point back at the event.
--
-- Foreign keys to shell_files use ON DELETE SET NULL on purpose: when a user
-- deletes an upload, facts they have already confirmed stay in their record,
-- they just lose the link to the source page.
-- ============================================================================

-- ----------------------------------------------------------------------------
-- patient_clinical_events
-- ----------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS public.patient_clinical_events (
    id                  uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    patient_id          uuid        NOT NULL REFERENCES public.user_profiles(id) ON DELETE CASCADE,
    shell_file_id       uuid        REFERENCES public.shell_files(id) ON DELETE SET NULL,
    source_page         integer,                            -- page of the shell file the event was read from

    -- Two-axis classification: what kind of activity, and why it happened
    activity_type       text        NOT NULL,               -- observation (information gathered) or intervention (action taken)
    clinical_purposes   text[]      NOT NULL DEFAULT '{}',  -- any of: screening, diagnostic, therapeutic, monitoring, preventive
    event_name          text        NOT NULL,               -- short human name, e.g. 'Full blood count'
    method              text,                               -- e.g. laboratory, physical_exam, imaging, injection
    body_site           text,
    event_date          timestamptz NOT NULL,               -- when it happened, from the document; not the upload time
    performed_by        text,                               -- clinician or facility as printed
    facility_name       text,

    -- Coding, when the pass could assign one with confidence
    snomed_code         text,
    loinc_code          text,
    cpt_code            text,

    -- Provenance and review
    confidence_score    public.confidence_score,
    requires_review     boolean     NOT NULL DEFAULT false, -- true sends it to the review queue in the app
    ai_extracted        boolean     NOT NULL DEFAULT true,  -- false for events the user typed in
    archived            boolean     NOT NULL DEFAULT false,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),

    CONSTRAINT patient_clinical_events_activity_type_check
        CHECK (activity_type IN ('observation', 'intervention')),
    CONSTRAINT patient_clinical_events_purposes_check
        CHECK (clinical_purposes <@ ARRAY['screening', 'diagnostic', 'therapeutic', 'monitoring', 'preventive']::text[]),
    CONSTRAINT patient_clinical_events_source_page_check
        CHECK (source_page IS NULL OR source_page >= 1)
);

COMMENT ON TABLE public.patient_clinical_events IS
    'Hub of the clinical record: one row per clinically meaningful event found in a document or entered by hand.';
COMMENT ON COLUMN public.patient_clinical_events.activity_type IS
    'observation = information gathered (a test, a measurement); intervention = action taken (a prescription, a procedure).';

CREATE INDEX IF NOT EXISTS idx_patient_clinical_events_patient_date
    ON public.patient_clinical_events (patient_id, event_date DESC)
    WHERE NOT archived;
CREATE INDEX IF NOT EXISTS idx_patient_clinical_events_shell_file
    ON public.patient_clinical_events (shell_file_id);
-- Migration 03: Review queue index and archived-event guard
CREATE INDEX IF NOT EXISTS idx_patient_clinical_events_review_queue
    ON public.patient_clinical_events (patient_id, created_at)
    WHERE requires_review AND NOT archived;

CREATE TRIGGER update_patient_clinical_events_updated_at
    BEFORE UPDATE ON public.patient_clinical_events
    FOR EACH ROW EXECUTE FUNCTION public.update_updated_at_column();

-- ----------------------------------------------------------------------------
-- patient_observations
-- ----------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS public.patient_observations (
    id                      uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    event_id                uuid        NOT NULL REFERENCES public.patient_clinical_events(id) ON DELETE CASCADE,
    patient_id              uuid        NOT NULL REFERENCES public.user_profiles(id) ON DELETE CASCADE,  -- denormalised for RLS
    shell_file_id           uuid        REFERENCES public.shell_files(id) ON DELETE SET NULL,
    observation_type        text        NOT NULL,           -- e.g. haemoglobin, hba1c, ldl_cholesterol
    value_text              text,                           -- the value exactly as printed
    value_numeric           numeric,                        -- parsed value when the result is a number
    value_unit              text,                           -- UCUM where we can map it, else as printed
    reference_range_low     numeric,
    reference_range_high    numeric,
    reference_range_text    text,                           -- as printed, e.g. '< 5.0' or 'negative'
    interpretation          text,
    observed_at             timestamptz,
    confidence_score        public.confidence_score,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT patient_observations_interpretation_check
        CHECK (interpretation IN ('normal', 'high', 'low', 'critical', 'abnormal', 'unknown')),
    CONSTRAINT patient_observations_has_value
        CHECK (value_text IS NOT NULL OR value_numeric IS NOT NULL)
);

COMMENT ON COLUMN public.patient_observations.patient_id IS
    'Copy of patient_clinical_events.patient_id so the RLS policy needs no join.';

CREATE INDEX IF NOT EXISTS idx_patient_observations_event ON public.patient_observations (event_id);
CREATE INDEX IF NOT EXISTS idx_patient_observations_patient_type
    ON public.patient_observations (patient_id, observation_type, observed_at DESC);

CREATE TRIGGER update_patient_observations_updated_at
    BEFORE UPDATE ON public.patient_observations
    FOR EACH ROW EXECUTE FUNCTION public.update_updated_at_column();

-- ----------------------------------------------------------------------------
-- patient_medications
-- ----------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS public.patient_medications (
    id                      uuid            PRIMARY KEY DEFAULT gen_random_uuid(),
    patient_id              uuid            NOT NULL REFERENCES public.user_profiles(id) ON DELETE CASCADE,
    clinical_event_id       uuid            REFERENCES public.patient_clinical_events(id) ON DELETE SET NULL,
    shell_file_id           uuid            REFERENCES public.shell_files(id) ON DELETE SET NULL,
    medication_name         text            NOT NULL,       -- as printed, brand or generic
    generic_name            text,                           -- normalised active ingredient
    rxnorm_code             text,
    strength                text,                           -- as printed, e.g. '500 mg' or '5 mg/5 mL'
    dose_amount             numeric(10,3),                  -- amount per administration, in dose_unit
    dose_unit               text,                           -- mg, mL, tablet, puff, unit
    route                   text,
    frequency               text,                           -- as printed, e.g. 'twice daily', 'BD', 'PRN'
    start_date              date,
    end_date                date,
    status                  text            NOT NULL DEFAULT 'active',
    indication              text,                           -- why it was prescribed, when the document says
    prescribing_provider    text,
    tags                    text[]          NOT NULL DEFAULT '{}',  -- free labels from the user, e.g. {heart,morning}
    confidence_score        public.confidence_score,
    requires_review         boolean         NOT NULL DEFAULT false,
    created_at              timestamptz     NOT NULL DEFAULT now(),
    updated_at              timestamptz     NOT NULL DEFAULT now(),
    CONSTRAINT patient_medications_route_check
        CHECK (route IN ('oral', 'topical', 'inhaled', 'injection', 'intravenous', 'subcutaneous', 'sublingual', 'rectal', 'other')),
    CONSTRAINT patient_medications_status_check
        CHECK (status IN ('active', 'completed', 'stopped', 'on_hold', 'unknown')),
    CONSTRAINT patient_medications_dose_positive
        CHECK (dose_amount IS NULL OR dose_amount > 0),
    CONSTRAINT patient_medications_dates_ordered
        CHECK (end_date IS NULL OR start_date IS NULL OR end_date >= start_date)
);

-- "As needed" medications were first recorded as frequency = 'PRN'; the app
-- needs a real flag to hide them from the daily schedule. Added in the
-- 2026-06 release, before we kept a migration history.
ALTER TABLE public.patient_medications ADD COLUMN IF NOT EXISTS as_needed boolean NOT NULL DEFAULT false;

COMMENT ON TABLE public.patient_medications IS
    'Medications found in documents or entered by the user; one row per medication course.';
COMMENT ON COLUMN public.patient_medications.dose_amount IS
    'Amount per administration in dose_unit. Three decimals for paediatric liquid doses (e.g. 2.125 mL).';

CREATE INDEX IF NOT EXISTS idx_patient_medications_patient_status
    ON public.patient_medications (patient_id, status);
CREATE INDEX IF NOT EXISTS idx_patient_medications_tags
    ON public.patient_medications USING gin (tags);

CREATE TRIGGER update_patient_medications_updated_at
    BEFORE UPDATE ON public.patient_medications
    FOR EACH ROW EXECUTE FUNCTION public.update_updated_at_column();

-- ----------------------------------------------------------------------------
-- patient_conditions
-- ----------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS public.patient_conditions (
    id                  uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    patient_id          uuid        NOT NULL REFERENCES public.user_profiles(id) ON DELETE CASCADE,
    clinical_event_id   uuid        REFERENCES public.patient_clinical_events(id) ON DELETE SET NULL,
    shell_file_id       uuid        REFERENCES public.shell_files(id) ON DELETE SET NULL,
    condition_name      text        NOT NULL,
    icd10_code          text,
    snomed_code         text,
    status              text        NOT NULL DEFAULT 'active',
    severity            text,                               -- as documented; free text because sources disagree on scales
    onset_date          date,
    resolved_date       date,
    diagnosed_by        text,
    confidence_score    public.confidence_score,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT patient_conditions_status_check
        CHECK (status IN ('active', 'resolved', 'remission', 'inactive', 'unknown')),
    CONSTRAINT patient_conditions_resolved_after_onset
        CHECK (resolved_date IS NULL OR onset_date IS NULL OR resolved_date >= onset_date)
);

CREATE INDEX IF NOT EXISTS idx_patient_conditions_patient ON public.patient_conditions (patient_id, status);

CREATE TRIGGER update_patient_conditions_updated_at
    BEFORE UPDATE ON public.patient_conditions
    FOR EACH ROW EXECUTE FUNCTION public.update_updated_at_column();

-- ----------------------------------------------------------------------------
-- patient_allergies
-- ----------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS public.patient_allergies (
    id                  uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    patient_id          uuid        NOT NULL REFERENCES public.user_profiles(id) ON DELETE CASCADE,
    shell_file_id       uuid        REFERENCES public.shell_files(id) ON DELETE SET NULL,
    allergen            text        NOT NULL,               -- substance as printed, e.g. 'Penicillin', 'Peanuts'
    allergen_type       text        NOT NULL DEFAULT 'other',
    reaction            text,                               -- e.g. 'hives', 'anaphylaxis'
    severity            text,
    verified            boolean     NOT NULL DEFAULT false, -- confirmed by the user or a clinician, not just extracted
    recorded_at         date,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT patient_allergies_type_check
        CHECK (allergen_type IN ('medication', 'food', 'environmental', 'other')),
    CONSTRAINT patient_allergies_severity_check
        CHECK (severity IN ('mild', 'moderate', 'severe', 'life_threatening'))
);

CREATE UNIQUE INDEX IF NOT EXISTS idx_patient_allergies_unique_allergen
    ON public.patient_allergies (patient_id, lower(allergen));

CREATE TRIGGER update_patient_allergies_updated_at
    BEFORE UPDATE ON public.patient_allergies
    FOR EACH ROW EXECUTE FUNCTION public.update_updated_at_column();

-- ----------------------------------------------------------------------------
-- patient_vitals
-- ----------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS public.patient_vitals (
    id                  uuid            PRIMARY KEY DEFAULT gen_random_uuid(),
    patient_id          uuid            NOT NULL REFERENCES public.user_profiles(id) ON DELETE CASCADE,
    clinical_event_id   uuid            REFERENCES public.patient_clinical_events(id) ON DELETE SET NULL,
    shell_file_id       uuid            REFERENCES public.shell_files(id) ON DELETE SET NULL,
    measured_at         timestamptz     NOT NULL,
    systolic_bp         smallint,                           -- mmHg
    diastolic_bp        smallint,                           -- mmHg
    heart_rate          smallint,                           -- beats per minute
    respiratory_rate    smallint,                           -- breaths per minute
    temperature_c       numeric(4,1),
    spo2_percent        smallint,
    height_cm           numeric(5,1),
    weight_kg           numeric(5,1),
    -- Stored, not computed in the app, so that charts and exports agree.
    bmi                 numeric(5,1)    GENERATED ALWAYS AS (
                                            CASE WHEN height_cm > 0
                                                 THEN round(weight_kg / ((height_cm / 100.0) ^ 2), 1)
                                            END
                                        ) STORED,
    created_at          timestamptz     NOT NULL DEFAULT now(),
    CONSTRAINT patient_vitals_bp_pair
        CHECK ((systolic_bp IS NULL) = (diastolic_bp IS NULL)),
    CONSTRAINT patient_vitals_spo2_range
        CHECK (spo2_percent IS NULL OR spo2_percent BETWEEN 50 AND 100)
);

COMMENT ON COLUMN public.patient_vitals.bmi IS
    'Generated from height_cm and weight_kg of the same row; NULL when either is missing.';

CREATE INDEX IF NOT EXISTS idx_patient_vitals_patient_time ON public.patient_vitals (patient_id, measured_at DESC);

-- ----------------------------------------------------------------------------
-- patient_immunizations
-- ----------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS patient_immunizations (
    id                  uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    patient_id          uuid        NOT NULL REFERENCES user_profiles(id) ON DELETE CASCADE,
    shell_file_id       uuid        REFERENCES shell_files(id) ON DELETE SET NULL,
    vaccine_name        text        NOT NULL,               -- as printed, e.g. 'Boostrix', 'COVID-19 (Comirnaty)'
    dose_number         smallint,                           -- 1 for the first dose of a series
    administered_on     date        NOT NULL,
    lot_number          text,
    administered_by     text,
    created_at          timestamptz NOT NULL DEFAULT now()
);

-- ----------------------------------------------------------------------------
-- Row level security: one access rule for all clinical tables
-- ----------------------------------------------------------------------------
ALTER TABLE public.patient_clinical_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.patient_observations    ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.patient_medications     ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.patient_conditions      ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.patient_allergies       ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.patient_vitals          ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.patient_immunizations   ENABLE ROW LEVEL SECURITY;

CREATE POLICY patient_clinical_events_access ON public.patient_clinical_events
    FOR ALL
    USING (public.has_profile_access(auth.uid(), patient_id))
    WITH CHECK (public.has_profile_access(auth.uid(), patient_id));

-- Migration 03: Review queue index and archived-event guard
-- Restrictive, so it narrows the permissive policy above: an archived event
-- is read-only for everyone except the service role (which bypasses RLS).
CREATE POLICY patient_clinical_events_archived_readonly ON public.patient_clinical_events
    AS RESTRICTIVE
    FOR UPDATE
    USING (NOT archived);

CREATE POLICY patient_observations_access ON public.patient_observations
    FOR ALL
    USING (public.has_profile_access(auth.uid(), patient_id))
    WITH CHECK (public.has_profile_access(auth.uid(), patient_id));

CREATE POLICY patient_medications_access ON public.patient_medications
    FOR ALL
    USING (public.has_profile_access(auth.uid(), patient_id))
    WITH CHECK (public.has_profile_access(auth.uid(), patient_id));

CREATE POLICY patient_conditions_access ON public.patient_conditions
    FOR ALL
    USING (public.has_profile_access(auth.uid(), patient_id))
    WITH CHECK (public.has_profile_access(auth.uid(), patient_id));

CREATE POLICY patient_allergies_access ON public.patient_allergies
    FOR ALL
    USING (public.has_profile_access(auth.uid(), patient_id))
    WITH CHECK (public.has_profile_access(auth.uid(), patient_id));

CREATE POLICY patient_vitals_access ON public.patient_vitals
    FOR ALL
    USING (public.has_profile_access(auth.uid(), patient_id))
    WITH CHECK (public.has_profile_access(auth.uid(), patient_id));

CREATE POLICY patient_immunizations_access ON patient_immunizations
    FOR ALL
    USING (public.has_profile_access(auth.uid(), patient_id))
    WITH CHECK (public.has_profile_access(auth.uid(), patient_id));
