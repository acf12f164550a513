-- Embedded H2 only (PostgreSQL caches identities per session, which would scatter the order of ids).
-- H2 writes an identity's position to its catalogue, with a commit of its own, each time its cache
-- of values runs out: every 32 ids by default, so three extra commits per batch of stored
-- notifications (~20% of the group-commit writer's time under load). The order of ids is kept; a
-- crash skips at most the rest of the cache.
ALTER TABLE notification ALTER COLUMN id SET CACHE 100000;
ALTER TABLE delivery ALTER COLUMN id SET CACHE 100000;
