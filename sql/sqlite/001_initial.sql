-- imgbackfill schema, version 1 (SQLite).
-- Users' own SQL may rely on: images(id), jobs(image_id, state),
-- backfill_runs(state, queued). Times are UTC ISO-8601 text.

CREATE TABLE images (
  id               INTEGER PRIMARY KEY,
  product_id       TEXT,
  is_primary       INTEGER NOT NULL DEFAULT 0 CHECK (is_primary IN (0, 1)),
  active           INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
  location         TEXT    NOT NULL CHECK (location <> ''),
  content_hash     TEXT,
  -- Model id of the image's current embedding; NULL when it has none.
  embedding_model  TEXT,
  -- Backfill priority: 0 for a product's primary image, 1 for the rest.
  backfill_group   INTEGER GENERATED ALWAYS AS
                     (CASE WHEN product_id IS NOT NULL AND is_primary = 1 THEN 0 ELSE 1 END) VIRTUAL,
  created_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  updated_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

-- The backfill cursor walks this index: one range per (embedding model, group),
-- each in id order. Partial on active so inactive images cost nothing.
CREATE INDEX images_backfill_scope ON images (embedding_model, backfill_group, id) WHERE active = 1;
CREATE INDEX images_location ON images (location);

CREATE TABLE image_phash (
  image_id    INTEGER PRIMARY KEY REFERENCES images (id) ON DELETE CASCADE,
  phash       INTEGER NOT NULL,
  computed_at TEXT NOT NULL
);

CREATE TABLE image_embeddings (
  image_id    INTEGER PRIMARY KEY REFERENCES images (id) ON DELETE CASCADE,
  model       TEXT    NOT NULL,
  dimension   INTEGER NOT NULL CHECK (dimension > 0),
  vector      BLOB    NOT NULL CHECK (length(vector) = 4 * dimension),
  computed_at TEXT    NOT NULL
);

CREATE TABLE image_vision (
  image_id    INTEGER PRIMARY KEY REFERENCES images (id) ON DELETE CASCADE,
  model       TEXT NOT NULL,
  result      TEXT NOT NULL CHECK (json_valid(result)),
  computed_at TEXT NOT NULL
);

CREATE TABLE jobs (
  id            INTEGER PRIMARY KEY,
  image_id      INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
  kind          TEXT    NOT NULL DEFAULT 'analyze',
  args          TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(args)),
  state         TEXT    NOT NULL DEFAULT 'available'
                  CHECK (state IN ('available', 'running', 'retryable', 'completed', 'dead', 'cancelled')),
  priority      INTEGER NOT NULL DEFAULT 1,
  attempt       INTEGER NOT NULL DEFAULT 0,
  max_attempts  INTEGER NOT NULL DEFAULT 3 CHECK (max_attempts > 0),
  run_at        TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  lease_owner   TEXT,
  lease_expires_at TEXT,
  last_error    TEXT,
  created_at    TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  updated_at    TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  finished_at   TEXT
);

-- At most one open job per image: the database itself refuses a second.
CREATE UNIQUE INDEX jobs_one_open_per_image ON jobs (image_id)
  WHERE state IN ('available', 'running', 'retryable');
-- The latest job of an image (scope checks) and per-image history.
CREATE INDEX jobs_image ON jobs (image_id, id);
-- Workers claim by priority then id among jobs that are due.
CREATE INDEX jobs_claim ON jobs (priority, id) WHERE state IN ('available', 'retryable');
CREATE INDEX jobs_state ON jobs (state);

CREATE TABLE backfill_runs (
  id                  INTEGER PRIMARY KEY,
  model               TEXT    NOT NULL,
  limit_count         INTEGER NOT NULL CHECK (limit_count > 0),
  product_images_only INTEGER NOT NULL CHECK (product_images_only IN (0, 1)),
  include_dead        INTEGER NOT NULL DEFAULT 0 CHECK (include_dead IN (0, 1)),
  state               TEXT    NOT NULL
                        CHECK (state IN ('running', 'interrupted', 'completed', 'failed')),
  cursor_group        INTEGER NOT NULL DEFAULT 0,
  cursor_id           INTEGER NOT NULL DEFAULT 0,
  queued              INTEGER NOT NULL DEFAULT 0,
  skipped             INTEGER NOT NULL DEFAULT 0,
  candidates_at_start INTEGER,
  holder_host         TEXT,
  holder_pid          INTEGER,
  heartbeat_at        TEXT,
  last_error          TEXT,
  started_at          TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  finished_at         TEXT
);

-- At most one unfinished run per database; a second is refused by the schema.
CREATE UNIQUE INDEX backfill_runs_one_unfinished ON backfill_runs ((0))
  WHERE state IN ('running', 'interrupted');
