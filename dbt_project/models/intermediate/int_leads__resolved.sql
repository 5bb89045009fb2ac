-- Live leads with their golden contact resolved and their outcome derived, once, for every
-- mart that needs "is this lead converted / closed, and when".
-- The select is macros/leads_resolved_select.sql (the incremental models read it for
-- their changed leads).
{{ leads_resolved_select() }}
