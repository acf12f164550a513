-- The TeleCMI file name each recording was fetched as. Several CDRs may name one file (a replay, or
-- hostile input out to multiply downloads): a file already stored is then shared by their rows,
-- not fetched again. Recordings stored before this version take the name from their CDR.
ALTER TABLE recording ADD COLUMN telecmi_filename VARCHAR(1000);
UPDATE recording SET telecmi_filename = (SELECT c.recording_filename FROM cdr c WHERE c.cmiuuid = recording.cmiuuid);
ALTER TABLE recording ALTER COLUMN telecmi_filename SET NOT NULL;

-- "is this TeleCMI file stored already", newest first
CREATE INDEX recording_telecmi_filename_idx ON recording (telecmi_filename, stored_at);
-- "does any row still use this file": a shared file is deleted with the last row naming it
CREATE INDEX recording_file_path_idx ON recording (file_path);
