//! The embedded object store: objects as files under a directory (`DATA_DIR/objects`).

use pec_ledger::store::{ObjectStore, StoreError, StoreResult};
use std::path::{Component, Path, PathBuf};

pub struct FileObjectStore {
    root: PathBuf,
}

impl FileObjectStore {
    pub fn new(root: impl Into<PathBuf>) -> FileObjectStore {
        FileObjectStore { root: root.into() }
    }

    /// The file of a key; keys that would leave the root (`..`, absolute) are refused.
    fn path_of(&self, key: &str) -> StoreResult<PathBuf> {
        let rel = Path::new(key);
        let safe = !key.is_empty() && rel.components().all(|c| matches!(c, Component::Normal(_)));
        if !safe {
            return Err(StoreError::Backend(format!(
                "object key {key:?} is not a relative path"
            )));
        }
        Ok(self.root.join(rel))
    }
}

impl ObjectStore for FileObjectStore {
    fn put_object(&self, key: &str, body: &[u8], _content_type: &str) -> StoreResult<()> {
        let path = self.path_of(key)?;
        let io = |e: std::io::Error| StoreError::Backend(format!("{}: {e}", path.display()));
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        // Write to a temporary file and rename, so a reader never sees half an object.
        let tmp = path.with_extension("partial");
        std::fs::write(&tmp, body).map_err(io)?;
        std::fs::rename(&tmp, &path).map_err(io)
    }

    fn get_object(&self, key: &str) -> StoreResult<Option<Vec<u8>>> {
        let path = self.path_of(key)?;
        match std::fs::read(&path) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StoreError::Backend(format!("{}: {e}", path.display()))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_round_trip_and_keys_stay_inside() {
        let dir = tempfile::tempdir().unwrap();
        let s = FileObjectStore::new(dir.path());
        s.put_object("receipts/p/u.json", b"{}", "application/json")
            .unwrap();
        assert_eq!(
            s.get_object("receipts/p/u.json").unwrap(),
            Some(b"{}".to_vec())
        );
        assert_eq!(s.get_object("receipts/p/none.json").unwrap(), None);
        assert!(s.put_object("../escape", b"x", "text/plain").is_err());
        assert!(s.put_object("/etc/x", b"x", "text/plain").is_err());
    }
}
