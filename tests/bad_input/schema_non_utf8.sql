-- Schéma
CREATE TABLE public.extra (id int);
