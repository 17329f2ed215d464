CREATE TABLE public.extra (
    id uuid PRIMARY KEY
    note text
);
