//! The URLs this server writes into its answers: where the stored bytes of a sample are served.
//! Core names stored bytes by ids only (`teamlabel_core::samples::source`); this is the one
//! place that turns them into URLs and recognises them in requests.

use teamlabel_core::samples::source::SourceUrls;

/// File URLs under this server's base URL, for one project.
pub struct FileUrls {
    base: String,
    project_id: String,
}

impl FileUrls {
    pub fn new(base: String, project_id: &str) -> Self {
        Self {
            base,
            project_id: project_id.to_string(),
        }
    }
}

impl SourceUrls for FileUrls {
    fn file_url(&self, dataset_id: &str, sample_id: &str) -> String {
        format!(
            "{}/v2/{}/datasets/{dataset_id}/data-annotations/samples/{sample_id}/file",
            self.base, self.project_id
        )
    }

    fn names_file(&self, given: &str, _dataset_id: &str, sample_id: &str) -> bool {
        given.ends_with(&format!("/data-annotations/samples/{sample_id}/file"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_urls_name_the_sample_under_any_host() {
        let urls = FileUrls::new("http://h:1".into(), "p");
        assert_eq!(
            urls.file_url("d", "s"),
            "http://h:1/v2/p/datasets/d/data-annotations/samples/s/file"
        );
        assert!(urls.names_file("http://other/v2/p/datasets/d/data-annotations/samples/s/file", "d", "s"));
        assert!(!urls.names_file("http://h:1/v2/p/datasets/d/data-annotations/samples/t/file", "d", "s"));
    }
}
