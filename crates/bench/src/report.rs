//! The report of a run: one JSON object of figures, printed as a table on stderr and as one
//! JSON line on stdout (the fields are listed in BENCHMARKS.md). It measures nothing itself.

use serde_json::Value;

pub fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

pub fn print(report: &Value) {
    for (k, v) in report.as_object().into_iter().flatten() {
        eprintln!("{k:>22}  {v}");
    }
    println!("{report}");
}
