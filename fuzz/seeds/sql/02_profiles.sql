-- ============================================================================
-- 02_profiles.sql
-- Profiles (the people whose records we hold) and who may access them.
-- ============================================================================
-- One auth user (the account owner) can manage several profiles: themselves,
-- a child, an elderly parent. Every clinical row hangs off a profile, never
-- off auth.users directly, so that access can be shared per profile.
-- ============================================================================

-- ----------------------------------------------------------------------------
-- user_profiles
-- ----------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS public.user_profiles (
    id                  uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    account_owner_id    uuid        NOT NULL REFERENCES auth.users(id) ON DELETE CASCADE,  -- the login that manages this profile
    profile_type        text        NOT NULL DEFAULT 'self'
                                    CHECK (profile_type IN ('self', 'child', 'adult_dependent', 'pet')),
    display_name        text        NOT NULL,               -- what the app shows; not necessarily the legal name
    full_legal_name     text,                               -- as printed on documents, used to match uploads
    date_of_birth       date,
    biological_sex      text        CHECK (biological_sex IN ('female', 'male', 'intersex', 'unknown')),
    relationship        text,                               -- owner's relationship to the profile, e.g. 'daughter'
    timezone            text        NOT NULL DEFAULT 'UTC', -- IANA name; dates on documents are local to this
    archived            boolean     NOT NULL DEFAULT false, -- soft delete: hidden in the app, data kept
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE public.user_profiles IS
    'A person (or pet) whose health records are stored. Owned by one auth user; shared through profile_access_permissions.';

CREATE INDEX IF NOT EXISTS idx_user_profiles_owner ON public.user_profiles (account_owner_id) WHERE NOT archived;

CREATE TRIGGER update_user_profiles_updated_at
    BEFORE UPDATE ON public.user_profiles
    FOR EACH ROW EXECUTE FUNCTION public.update_updated_at_column();

-- ----------------------------------------------------------------------------
-- profile_access_permissions
-- ----------------------------------------------------------------------------
-- Grants another auth user access to a profile (a partner, a carer, a GP).
-- The owner never needs a row here: ownership is checked first.
CREATE TABLE IF NOT EXISTS public.profile_access_permissions (
    id                  uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    profile_id          uuid        NOT NULL REFERENCES public.user_profiles(id) ON DELETE CASCADE,
    user_id             uuid        NOT NULL REFERENCES auth.users(id) ON DELETE CASCADE,
    permission_level    text        NOT NULL DEFAULT 'read_only'
                                    CHECK (permission_level IN ('read_only', 'read_write', 'full_access')),
    granted_by          uuid        REFERENCES auth.users(id) ON DELETE SET NULL,
    granted_at          timestamptz NOT NULL DEFAULT now(),
    expires_at          timestamptz,                        -- NULL means until revoked
    revoked_at          timestamptz,                        -- set instead of deleting, for the audit trail
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT profile_access_permissions_unique_grant UNIQUE (profile_id, user_id)
);

CREATE INDEX IF NOT EXISTS idx_profile_access_user ON public.profile_access_permissions (user_id)
    WHERE revoked_at IS NULL;

CREATE TRIGGER update_profile_access_permissions_updated_at
    BEFORE UPDATE ON public.profile_access_permissions
    FOR EACH ROW EXECUTE FUNCTION public.update_updated_at_column();

-- Grants and revocations are exactly what the audit log is for.
CREATE TRIGGER audit_profile_access_permissions
    AFTER INSERT OR UPDATE OR DELETE ON public.profile_access_permissions
    FOR EACH ROW EXECUTE FUNCTION public.log_audit_event();

-- ----------------------------------------------------------------------------
-- has_profile_access()
-- ----------------------------------------------------------------------------
-- The single access check used by every RLS policy on clinical data.
-- SECURITY DEFINER because the policies on profile_access_permissions would
-- otherwise recurse; search_path pinned so the definer rights cannot be
-- hijacked by a caller's objects.
CREATE OR REPLACE FUNCTION public.has_profile_access(p_user uuid, p_profile uuid)
RETURNS boolean
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = public
AS $$
BEGIN
    IF p_user IS NULL OR p_profile IS NULL THEN
        RETURN false;
    END IF;

    -- Owner of the profile.
    IF EXISTS (
        SELECT 1
          FROM user_profiles up
         WHERE up.id = p_profile
           AND up.account_owner_id = p_user
    ) THEN
        RETURN true;
    END IF;

    -- Explicit, unexpired, unrevoked grant.
    RETURN EXISTS (
        SELECT 1
          FROM profile_access_permissions pap
         WHERE pap.profile_id = p_profile
           AND pap.user_id = p_user
           AND pap.revoked_at IS NULL
           AND (pap.expires_at IS NULL OR pap.expires_at > now())
    );
END;
$$;

GRANT EXECUTE ON FUNCTION public.has_profile_access(uuid, uuid) TO authenticated;

-- ----------------------------------------------------------------------------
-- Row level security
-- ----------------------------------------------------------------------------
ALTER TABLE public.user_profiles ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.profile_access_permissions ENABLE ROW LEVEL SECURITY;

CREATE POLICY user_profiles_select ON public.user_profiles
    FOR SELECT
    USING (public.has_profile_access(auth.uid(), id) OR public.is_admin());

-- Only the owner creates, edits or archives a profile; carers with
-- full_access still go through the owner for that.
CREATE POLICY user_profiles_owner_write ON public.user_profiles
    FOR ALL
    USING (account_owner_id = auth.uid())
    WITH CHECK (account_owner_id = auth.uid());

CREATE POLICY profile_access_owner_manage ON public.profile_access_permissions
    FOR ALL
    USING (
        EXISTS (
            SELECT 1 FROM public.user_profiles up
             WHERE up.id = profile_id
               AND up.account_owner_id = auth.uid()
        )
    );

-- A grantee can see their own grants (to list "profiles shared with me").
CREATE POLICY profile_access_grantee_read ON profile_access_permissions
    FOR SELECT
    USING (user_id = auth.uid());
