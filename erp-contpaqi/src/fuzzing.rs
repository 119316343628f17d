//! Entry points for fuzz targets (`fuzz/`): each takes arbitrary bytes and must never panic.

/// Reads arbitrary bytes as a bridge job (`GET /v1/jobs/{id}` body) and as a failed job's error, and maps it.
pub fn job_response(data: &[u8]) {
    if let Ok(job) = serde_json::from_slice::<crate::wire::Job>(data) {
        let _ = job.result.and_then(|r| r.documento).map(|d| {
            crate::mapping::entity_from(&d, &crate::config::Conceptos::default()).ok();
            crate::wire::DocKey::parse(&d.key().remote_id())
        });
    }
    let _ = crate::error::parse_job_error(data);
    let _ = crate::wire::DocKey::parse(&String::from_utf8_lossy(data));
}
