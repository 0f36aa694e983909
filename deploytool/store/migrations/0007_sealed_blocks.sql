-- deploytool store, schema version 7: block secrets encrypted at rest (docs/stores.md, "Secrets at rest").
-- `data` keeps the block's public view (secret fields masked); `sealed` the whole document, encrypted with a key
-- kept outside the store, whose id is `key_id`. The migration's Python step (store/sealing.py) encrypts the
-- secrets that older versions stored in clear, in the same transaction.

ALTER TABLE blocks ADD COLUMN sealed TEXT;
ALTER TABLE blocks ADD COLUMN key_id TEXT;
