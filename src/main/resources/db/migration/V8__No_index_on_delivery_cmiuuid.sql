-- A random cmiuuid put each planned delivery on its own leaf of this index, and H2 rewrites every
-- leaf a commit touches (issue 14). A call's deliveries are found through its notifications
-- instead: notification's unique (cmiuuid, kind), then delivery's unique (notification_id, kind).
DROP INDEX delivery_cmiuuid_idx;
