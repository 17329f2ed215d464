-- ============================================================================
-- 03_documents.sql
-- Uploaded documents ("shell files") and their pages.
-- ============================================================================
-- A shell file is the container for one upload: the PDF, photo or scan a
-- patient gives us. The AI passes (05_ai_processing.sql) read it and write
-- clinical rows (04_clinical.sql) that point back at it, so a clinical fact
-- can always be traced to the page it came from.
-- ============================================================================

-- ----------------------------------------------------------------------------
-- shell_files
-- ----------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS public.shell_files (
    id                      uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    patient_id              uuid        NOT NULL REFERENCES public.user_profiles(id) ON DELETE CASCADE,
    uploaded_by             uuid        REFERENCES auth.users(id) ON DELETE SET NULL,  -- may differ from the owner (carer uploads)

    -- File facts, captured at upload
    original_filename       text        NOT NULL,           -- as the user named it; shown in the UI, never trusted as a path
    storage_path            text        NOT NULL UNIQUE,    -- key in the medical-docs bucket: <patient_id>/<id>/<filename>
    mime_type               text,                           -- MIME type as reported by the browser; NULL when it sent none
    file_size_bytes         bigint      NOT NULL CHECK (file_size_bytes > 0),
    file_hash               text,                           -- sha256 hex; lets us spot the same document uploaded twice

    -- Processing state
    status                  text        NOT NULL DEFAULT 'uploaded' CHECK (status IN ('uploaded','processing','completed','failed')),
    processing_started_at   timestamptz,
    processing_completed_at timestamptz,
    processing_error        jsonb,                          -- {code, message, pass} of the last failure
    ocr_confidence          public.confidence_score,        -- mean OCR confidence over all pages

    -- What the document turned out to be (filled in by pass 1)
    document_type           text,                           -- e.g. lab_result, discharge_summary, prescription
    document_date           date,                           -- date printed on the document, not the upload date
    provider_name           text,                           -- issuing clinic or clinician, as printed
    language_code           text        NOT NULL DEFAULT 'en',
    extracted_text          text,                           -- full OCR text, kept for search and re-runs

    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    -- Migration 01: Add page count to shell files
    page_count              integer                         -- pages after splitting; NULL until pass 1 has run
);

COMMENT ON TABLE public.shell_files IS
    'One uploaded document. Parent of document_pages and the source of every extracted clinical row.';
COMMENT ON COLUMN public.shell_files.status IS
    'uploaded -> processing -> completed | failed. Set by the worker, never by the client.';

CREATE INDEX IF NOT EXISTS idx_shell_files_patient        ON public.shell_files (patient_id, created_at DESC);
CREATE INDEX IF NOT EXISTS idx_shell_files_status         ON public.shell_files (status) WHERE status IN ('uploaded', 'processing');
CREATE INDEX IF NOT EXISTS idx_shell_files_hash           ON public.shell_files (patient_id, file_hash) WHERE file_hash IS NOT NULL;
-- Fuzzy filename search in the document list ("bloods march" finds "Blood results - Mar 2026.pdf").
CREATE INDEX IF NOT EXISTS idx_shell_files_filename_trgm  ON public.shell_files USING gin (original_filename gin_trgm_ops);

CREATE TRIGGER update_shell_files_updated_at
    BEFORE UPDATE ON public.shell_files
    FOR EACH ROW EXECUTE FUNCTION public.update_updated_at_column();

-- ----------------------------------------------------------------------------
-- document_pages
-- ----------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS public.document_pages (
    id                  uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    shell_file_id       uuid        NOT NULL REFERENCES public.shell_files(id) ON DELETE CASCADE,
    page_number         integer     NOT NULL CHECK (page_number >= 1),   -- 1-based, in reading order
    image_storage_path  text,                               -- rendered PNG of the page, for the viewer
    ocr_text            text,
    ocr_confidence      public.confidence_score,
    width_px            integer,
    height_px           integer,
    created_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT document_pages_unique_page UNIQUE (shell_file_id, page_number)
);

-- Phones photograph pages sideways; the viewer needs to know how to turn
-- them. Added after the first release, kept here as it was applied.
ALTER TABLE public.document_pages ADD COLUMN IF NOT EXISTS rotation_degrees smallint NOT NULL DEFAULT 0;

CREATE INDEX IF NOT EXISTS idx_document_pages_text_trgm ON public.document_pages USING gin (ocr_text gin_trgm_ops);

-- ----------------------------------------------------------------------------
-- Row level security
-- ----------------------------------------------------------------------------
ALTER TABLE public.shell_files ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.document_pages ENABLE ROW LEVEL SECURITY;

CREATE POLICY shell_files_select ON public.shell_files
    FOR SELECT
    USING (public.has_profile_access(auth.uid(), patient_id));

CREATE POLICY shell_files_insert ON public.shell_files
    FOR INSERT
    WITH CHECK (public.has_profile_access(auth.uid(), patient_id));

-- Users may rename or delete their uploads; status columns are only written
-- by the worker through the service role, which bypasses RLS.
CREATE POLICY shell_files_update ON public.shell_files
    FOR UPDATE
    USING (public.has_profile_access(auth.uid(), patient_id))
    WITH CHECK (public.has_profile_access(auth.uid(), patient_id));

CREATE POLICY shell_files_delete ON shell_files
    FOR DELETE
    USING (public.has_profile_access(auth.uid(), patient_id));

CREATE POLICY document_pages_select ON public.document_pages
    FOR SELECT
    USING (
        EXISTS (
            SELECT 1 FROM public.shell_files sf
             WHERE sf.id = document_pages.shell_file_id
               AND public.has_profile_access(auth.uid(), sf.patient_id)
        )
    );
