-- Which database this is: a random id written once when the database is created and renewed
-- by `agora db restore`. The search index records it with its change-log position, so an
-- index that followed another history (a restored backup, a database that lost its last
-- writes) is noticed and rebuilt instead of silently skipping the changes it thinks it saw.
CREATE TABLE instance (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    database_id TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL
);
