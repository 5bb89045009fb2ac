-- Engagement counts per live lead, from the touchpoints and interactions of its golden
-- contact. Counts other than the two creation-relative windows stop at the lead's outcome
-- (closed_at) so that what happened because of the outcome does not leak into features.
-- The select is macros/lead_engagement_select.sql (fct_leads reads it for its changed leads).
{{ lead_engagement_select() }}
