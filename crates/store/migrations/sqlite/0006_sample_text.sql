-- A copy of the text of a text sample uploaded as bytes, kept beside its blob when it is at most
-- 64 KiB of UTF-8 (and holds no NUL), so a sample list answers each text (`sample_data`) from
-- its own row in one query instead of one blob read per sample. NULL for every other sample: a
-- `content://` text is already its `source`; a text uploaded before this column is read from
-- its blob when answered.
ALTER TABLE samples ADD COLUMN inline_text TEXT;
