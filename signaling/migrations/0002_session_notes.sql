-- The CSR's session notes (TOOL-6, SES-10): the latest saved text, and when and
-- by whom (participant id) it was saved. NULL until a CSR saves notes.
ALTER TABLE sessions ADD COLUMN notes TEXT;
ALTER TABLE sessions ADD COLUMN notes_saved_at INTEGER;
ALTER TABLE sessions ADD COLUMN notes_saved_by TEXT;
