-- What the operations page filters on (GET /api/notifications?phone=&delivery_state=), found by index
-- and not by reading every notification.

-- A call's numbers, of any kind, as digits only (no '+', spaces, dots, dashes or brackets; NULL when
-- that leaves no digits or more than 32): a missed call or a live event has no typed row, so its
-- numbers were in the raw payload only. phone= is matched against each, by index.
ALTER TABLE notification ADD COLUMN caller_digits VARCHAR(32);
ALTER TABLE notification ADD COLUMN called_digits VARCHAR(32);
ALTER TABLE notification ADD COLUMN virtual_number_digits VARCHAR(32);

-- Answered CDRs stored before this version, from their typed row (other kinds stored before it keep
-- their numbers in the raw payload only, and are not found by phone=)
UPDATE notification SET
    caller_digits = (SELECT CASE WHEN LENGTH(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(c.caller_number, '+', ''), ' ', ''), '.', ''), '-', ''), '(', ''), ')', '')) BETWEEN 1 AND 32
        THEN REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(c.caller_number, '+', ''), ' ', ''), '.', ''), '-', ''), '(', ''), ')', '') END
        FROM cdr c WHERE c.cmiuuid = notification.cmiuuid),
    called_digits = (SELECT CASE WHEN LENGTH(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(c.called_number, '+', ''), ' ', ''), '.', ''), '-', ''), '(', ''), ')', '')) BETWEEN 1 AND 32
        THEN REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(c.called_number, '+', ''), ' ', ''), '.', ''), '-', ''), '(', ''), ')', '') END
        FROM cdr c WHERE c.cmiuuid = notification.cmiuuid),
    virtual_number_digits = (SELECT CASE WHEN LENGTH(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(c.virtual_number, '+', ''), ' ', ''), '.', ''), '-', ''), '(', ''), ')', '')) BETWEEN 1 AND 32
        THEN REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(c.virtual_number, '+', ''), ' ', ''), '.', ''), '-', ''), '(', ''), ')', '') END
        FROM cdr c WHERE c.cmiuuid = notification.cmiuuid)
WHERE kind = 'incoming-answered-cdr';

CREATE INDEX notification_caller_digits_idx ON notification (caller_digits);
CREATE INDEX notification_called_digits_idx ON notification (called_digits);
CREATE INDEX notification_virtual_number_digits_idx ON notification (virtual_number_digits);

-- one kind's notifications newest first (kind=), read in index order: ORDER BY kind DESC, id DESC
CREATE INDEX notification_kind_idx ON notification (kind, id);

-- "calls with a failed (or pending, in progress) delivery", newest first: those deliveries are few,
-- and delivery_due_idx finds them only for one kind at a time
CREATE INDEX delivery_state_notification_idx ON delivery (state, notification_id);
