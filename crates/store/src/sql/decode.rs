//! The row decoders both backends share: a record is read from its columns by position, in the
//! order of the column lists of this module's siblings, through `Cells`, which each backend
//! implements for its driver's row (JSON is TEXT in SQLite and JSONB in PostgreSQL; the trait
//! hides that). A decoder answers a `StoreError`. Must not run queries or know a driver.

use serde_json::{Map, Value};
use teamlabel_api::enums::{DatasetType, LabelType, SampleStatus, SampleType};
use teamlabel_api::labels::LabelAttribute;
use teamlabel_core::datasets::labels::LabelDef;
use teamlabel_core::iam::auth::Role;
use teamlabel_core::rules::values::PlacedLabel;
use teamlabel_core::store::{
    AccessKeyRecord, CopyCount, CopyRecord, DeletedSample, HistoryRecord, HistoryStep, LabelUsage, Labeler, Project,
    SampleRecord, StoreError, TaskRecord, TokenRecord, User, Verdicts, WorkerRecord, WorkforceRecord,
};

/// The cells of one result row, read by position.
pub trait Cells {
    fn text(&self, i: usize) -> Result<String, StoreError>;
    fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError>;
    fn int(&self, i: usize) -> Result<i64, StoreError>;
    fn opt_int(&self, i: usize) -> Result<Option<i64>, StoreError>;
    fn flag(&self, i: usize) -> Result<bool, StoreError>;
    fn opt_flag(&self, i: usize) -> Result<Option<bool>, StoreError>;
    fn bytes(&self, i: usize) -> Result<Vec<u8>, StoreError>;
    fn opt_float(&self, i: usize) -> Result<Option<f64>, StoreError>;
    /// A JSON cell; SQL NULL is `None`.
    fn opt_json(&self, i: usize) -> Result<Option<Value>, StoreError>;
    /// The error for a stored value this code cannot read.
    fn bad(&self, what: &str) -> StoreError {
        StoreError::Internal(format!("a stored value cannot be read: {what}"))
    }

    fn json(&self, i: usize) -> Result<Value, StoreError> {
        self.opt_json(i)?.ok_or_else(|| self.bad("a JSON column is NULL"))
    }

    fn object(&self, i: usize) -> Result<Map<String, Value>, StoreError> {
        match self.json(i)? {
            Value::Object(map) => Ok(map),
            _ => Err(self.bad("a stored JSON object")),
        }
    }

    fn int4(&self, i: usize) -> Result<i32, StoreError> {
        i32::try_from(self.int(i)?).map_err(|_| self.bad("a 32-bit integer"))
    }

    fn count(&self, i: usize) -> Result<u64, StoreError> {
        Ok(u64::try_from(self.int(i)?).unwrap_or(0))
    }
}

pub fn role(r: &dyn Cells, i: usize) -> Result<Role, StoreError> {
    Role::from_code(r.int(i)?).ok_or_else(|| r.bad("role"))
}

pub fn label_type(r: &dyn Cells, i: usize) -> Result<LabelType, StoreError> {
    LabelType::from_code(r.int(i)?).ok_or_else(|| r.bad("label type"))
}

/// `id, name, create_time`.
pub fn project(r: &dyn Cells, at: usize) -> Result<Project, StoreError> {
    Ok(Project {
        id: r.text(at)?,
        name: r.text(at + 1)?,
        create_time: r.int(at + 2)?,
    })
}

/// `USER_COLUMNS`.
pub fn user(r: &dyn Cells, at: usize) -> Result<User, StoreError> {
    Ok(User {
        id: r.text(at)?,
        project_id: r.text(at + 1)?,
        email: r.text(at + 2)?,
        role: role(r, at + 3)?,
        create_time: r.int(at + 4)?,
    })
}

/// `hash, user_id, project_id, expires_at, create_time`.
pub fn token(r: &dyn Cells, at: usize) -> Result<TokenRecord, StoreError> {
    Ok(TokenRecord {
        hash: r.text(at)?,
        user_id: r.text(at + 1)?,
        project_id: r.text(at + 2)?,
        expires_at: r.int(at + 3)?,
        create_time: r.int(at + 4)?,
    })
}

/// `ACCESS_KEY_COLUMNS`.
pub fn access_key(r: &dyn Cells, at: usize) -> Result<AccessKeyRecord, StoreError> {
    Ok(AccessKeyRecord {
        access_key: r.text(at)?,
        user_id: r.text(at + 1)?,
        project_id: r.text(at + 2)?,
        sealed_secret: r.bytes(at + 3)?,
        description: r.text(at + 4)?,
        security_token_hash: r.opt_text(at + 5)?,
        expires_at: r.opt_int(at + 6)?,
        create_time: r.int(at + 7)?,
    })
}

/// `DATASET_COLUMNS`.
pub fn dataset(r: &dyn Cells) -> Result<teamlabel_core::store::DatasetRecord, StoreError> {
    Ok(teamlabel_core::store::DatasetRecord {
        id: r.text(0)?,
        project_id: r.text(1)?,
        name: r.text(2)?,
        dataset_type: DatasetType::from_code(r.int(3)?).ok_or_else(|| r.bad("dataset_type"))?,
        description: r.text(4)?,
        data_sources: r.json(5)?,
        work_path: r.opt_text(6)?,
        work_path_type: r.int4(7)?,
        data_format: r.text(8)?,
        workspace_id: r.text(9)?,
        import_annotations: r.flag(10)?,
        label_format: r.opt_json(11)?.filter(|v| !v.is_null()),
        status: r.int4(12)?,
        create_time: r.int(13)?,
        update_time: r.int(14)?,
    })
}

/// `LABEL_COLUMNS`.
pub fn label(r: &dyn Cells) -> Result<LabelDef, StoreError> {
    let attributes = match r.opt_json(4)? {
        None | Some(Value::Null) => None,
        Some(v) => Some(serde_json::from_value::<Vec<LabelAttribute>>(v).map_err(|_| r.bad("label attributes"))?),
    };
    Ok(LabelDef {
        id: r.int(0)?,
        name: r.text(1)?,
        label_type: label_type(r, 2)?,
        property: r.object(3)?,
        attributes,
    })
}

/// `SAMPLE_COLUMNS`: the sample's `seq` and the sample, without its labels.
pub fn sample(r: &dyn Cells) -> Result<(i64, SampleRecord), StoreError> {
    let status = r.text(12)?;
    Ok((
        r.int(0)?,
        SampleRecord {
            id: r.text(1)?,
            dataset_id: r.text(2)?,
            name: r.text(3)?,
            sample_type: SampleType::from_code(r.int(4)?).ok_or_else(|| r.bad("sample_type"))?,
            source: r.opt_text(5)?,
            blob_sha256: r.opt_text(6)?,
            content_type: r.opt_text(7)?,
            size: r.int(8)?,
            text_len: r.opt_int(9)?,
            metadata: r.object(10)?,
            sample_usage: r.opt_text(11)?,
            status: SampleStatus::from_db(&status).ok_or_else(|| r.bad("sample status"))?,
            sample_time: r.int(13)?,
            update_time: r.int(14)?,
            version: r.int(15)?,
            inline_text: r.opt_text(16)?,
            labels: Vec::new(),
        },
    ))
}

/// A row of `samples::PLACED_LABELS`: the owner key and the placed label.
pub fn placed_label(r: &dyn Cells) -> Result<(i64, PlacedLabel), StoreError> {
    Ok((
        r.int(0)?,
        PlacedLabel {
            label_id: r.int(1)?,
            name: r.text(2)?,
            label_type: label_type(r, 3)?,
            instance_id: r.opt_text(4)?,
            property: r.object(5)?,
            score: r.opt_float(6)?,
            annotated_by: r.opt_text(7)?,
        },
    ))
}

/// `id, blob_sha256` from column `at`.
pub fn deleted_at(r: &dyn Cells, at: usize) -> Result<DeletedSample, StoreError> {
    Ok(DeletedSample {
        id: r.text(at)?,
        blob_sha256: r.opt_text(at + 1)?,
    })
}

/// `label_id, count, sample count`.
pub fn usage(r: &dyn Cells) -> Result<LabelUsage, StoreError> {
    Ok(LabelUsage {
        label_id: r.int(0)?,
        count: r.count(1)?,
        sample_count: r.count(2)?,
    })
}

/// `WORKFORCE_COLUMNS`.
pub fn workforce(r: &dyn Cells) -> Result<WorkforceRecord, StoreError> {
    Ok(WorkforceRecord {
        id: r.text(0)?,
        project_id: r.text(1)?,
        name: r.text(2)?,
        description: r.text(3)?,
        worker_count: r.count(4)?,
        create_time: r.int(5)?,
        update_time: r.int(6)?,
    })
}

/// `WORKER_COLUMNS`.
pub fn worker(r: &dyn Cells, at: usize) -> Result<WorkerRecord, StoreError> {
    Ok(WorkerRecord {
        id: r.text(at)?,
        workforce_id: r.text(at + 1)?,
        user_id: r.text(at + 2)?,
        email: r.text(at + 3)?,
        role: role(r, at + 4)?,
        description: r.text(at + 5)?,
        create_time: r.int(at + 6)?,
        update_time: r.int(at + 7)?,
    })
}

/// `TASK_COLUMNS`.
pub fn task(r: &dyn Cells) -> Result<TaskRecord, StoreError> {
    Ok(TaskRecord {
        id: r.text(0)?,
        dataset_id: r.text(1)?,
        name: r.text(2)?,
        description: r.text(3)?,
        status: r.int4(4)?,
        repetition: r.int4(5)?,
        workforces_config: r.json(6)?,
        sample_conditions: r.opt_json(7)?.filter(|v| !v.is_null()),
        synchronize_data: r.flag(8)?,
        synchronize_auto_labeling_data: r.flag(9)?,
        auto_sync_dataset: r.flag(10)?,
        data_sync_type: r.opt_int(11)?.map(|v| v as i32),
        create_time: r.int(12)?,
        update_time: r.int(13)?,
        iou_threshold: r.opt_float(14)?.unwrap_or(0.5),
    })
}

/// `COPY_COLUMNS`, without the copy's labels (`compact::unnamed` reads them).
pub fn copy(r: &dyn Cells, at: usize) -> Result<CopyRecord, StoreError> {
    let metadata = match r.opt_json(at + 4)? {
        None | Some(Value::Null) => None,
        Some(Value::Object(map)) => Some(map),
        Some(_) => return Err(r.bad("copy metadata")),
    };
    Ok(CopyRecord {
        id: r.int(at)?,
        worker_id: r.text(at + 1)?,
        state: r.text(at + 2)?,
        version: r.int(at + 3)?,
        labels: Vec::new(),
        metadata,
        sample_usage: r.opt_text(at + 5)?,
        update_time: r.int(at + 6)?,
        verdicts: verdicts(r, at + 7)?,
        round_id: r.opt_text(at + 13)?,
    })
}

/// `review_accept, review_comment, review_score, check_accept, check_comment, check_score`.
pub fn verdicts(r: &dyn Cells, at: usize) -> Result<Verdicts, StoreError> {
    Ok(Verdicts {
        review_accept: r.opt_flag(at)?,
        review_comment: r.opt_text(at + 1)?,
        review_score: r.opt_text(at + 2)?,
        check_accept: r.opt_flag(at + 3)?,
        check_comment: r.opt_text(at + 4)?,
        check_score: r.opt_text(at + 5)?,
    })
}

/// `worker_id, state, count, review_accept, check_accept`.
pub fn copy_count(r: &dyn Cells) -> Result<CopyCount, StoreError> {
    Ok(CopyCount {
        worker_id: r.text(0)?,
        state: r.text(1)?,
        count: r.count(2)?,
        review_accept: r.opt_flag(3)?,
        check_accept: r.opt_flag(4)?,
    })
}

/// `sample_seq, worker id, email, role`.
pub fn labeler(r: &dyn Cells) -> Result<(i64, Labeler), StoreError> {
    Ok((
        r.int(0)?,
        Labeler {
            worker_id: r.text(1)?,
            email: r.text(2)?,
            role: role(r, 3)?,
        },
    ))
}

/// `HISTORY_COLUMNS`.
pub fn history(r: &dyn Cells) -> Result<HistoryRecord, StoreError> {
    Ok(HistoryRecord {
        id: r.int(0)?,
        dataset_id: r.text(1)?,
        sample_id: r.text(2)?,
        task_id: r.opt_text(3)?,
        worker_id: r.opt_text(4)?,
        actor_user_id: r.text(5)?,
        actor_email: r.text(6)?,
        change_time: r.int(7)?,
        state_before: r.text(8)?,
        state_after: r.text(9)?,
        labels_before: r.json(10)?.to_string(),
        labels_after: r.json(11)?.to_string(),
        version_after: r.int(12)?,
        copy_id: None,
        step: HistoryStep {
            event: r.text(13)?,
            comment: r.opt_text(14)?,
            from_workers: match r.opt_json(15)? {
                None | Some(Value::Null) => Vec::new(),
                Some(v) => serde_json::from_value(v).map_err(|_| r.bad("history from_workers"))?,
            },
        },
    })
}

/// A user with what password sign-in needs: `USER_COLUMNS`, `password_hash, failed_logins,
/// locked_until`.
pub fn login(r: &dyn Cells) -> Result<teamlabel_core::store::Login, StoreError> {
    Ok(teamlabel_core::store::Login {
        user: user(r, 0)?,
        password_hash: r.opt_text(5)?,
        state: teamlabel_core::store::LoginState {
            failed: r.int(6)?,
            locked_until: r.int(7)?,
        },
    })
}
