//! Discrimination and calibration of predicted probabilities.

use rand_core::RngCore;
use serde::Serialize;

use super::ModelError;

/// A point estimate with a percentile bootstrap interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Interval {
    pub estimate: f64,
    pub lower: f64,
    pub upper: f64,
    /// Resamples that contained both classes (others are skipped).
    pub resamples: usize,
}

/// One calibration bin of equal width on [0, 1].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CalibrationBin {
    pub lower: f64,
    pub upper: f64,
    pub count: usize,
    pub mean_predicted: Option<f64>,
    pub observed_rate: Option<f64>,
}

fn check(scores: &[f64], labels: &[bool]) -> Result<(), ModelError> {
    if scores.is_empty() {
        return Err(ModelError::Empty);
    }
    if scores.len() != labels.len() {
        return Err(ModelError::LabelCount {
            rows: scores.len(),
            labels: labels.len(),
        });
    }
    match scores.iter().position(|s| !s.is_finite()) {
        Some(row) => Err(ModelError::NonFinite { row, column: 0 }),
        None => Ok(()),
    }
}

/// AUROC by the Mann–Whitney U statistic with mid-ranks for ties.
pub fn auroc(scores: &[f64], labels: &[bool]) -> Result<f64, ModelError> {
    check(scores, labels)?;
    let positives = labels.iter().filter(|&&y| y).count();
    let negatives = labels.len() - positives;
    if positives == 0 || negatives == 0 {
        return Err(ModelError::SingleClass);
    }
    let mut order: Vec<(f64, bool)> = scores.iter().copied().zip(labels.iter().copied()).collect();
    order.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut rank_sum_pos = 0.0;
    let mut start = 0;
    while start < order.len() {
        let tie = order.get(start).map_or(0.0, |o| o.0);
        let end = start + order.iter().skip(start).take_while(|o| o.0 == tie).count();
        // ranks start..end (0-based) share the mid-rank
        let mid_rank = (start + 1 + end) as f64 / 2.0;
        let pos_in_tie = order
            .get(start..end)
            .map_or(0, |g| g.iter().filter(|o| o.1).count());
        rank_sum_pos += mid_rank * pos_in_tie as f64;
        start = end;
    }
    let (p, n) = (positives as f64, negatives as f64);
    Ok((rank_sum_pos - p * (p + 1.0) / 2.0) / (p * n))
}

/// Uniform index in `0..n` without modulo bias.
fn uniform_index(rng: &mut impl RngCore, n: usize) -> usize {
    let n64 = n as u64;
    let zone = u64::MAX - (u64::MAX % n64);
    loop {
        let v = rng.next_u64();
        if v < zone {
            return (v % n64) as usize;
        }
    }
}

/// AUROC with a percentile bootstrap interval at `level` (e.g. 0.95).
pub fn auroc_bootstrap(
    scores: &[f64],
    labels: &[bool],
    resamples: usize,
    level: f64,
    rng: &mut impl RngCore,
) -> Result<Interval, ModelError> {
    auroc_bootstrap_with_progress(scores, labels, resamples, level, rng, |_| {})
}

/// [`auroc_bootstrap`] that calls `on_resample(done)` after each resample, so a caller can
/// show progress on large data; the interval is the same as without it.
pub fn auroc_bootstrap_with_progress(
    scores: &[f64],
    labels: &[bool],
    resamples: usize,
    level: f64,
    rng: &mut impl RngCore,
    mut on_resample: impl FnMut(usize),
) -> Result<Interval, ModelError> {
    let estimate = auroc(scores, labels)?;
    if !(level > 0.0 && level < 1.0) {
        return Err(ModelError::InvalidParameter {
            name: "level",
            reason: "must be in (0, 1)".into(),
        });
    }
    if resamples == 0 {
        return Err(ModelError::InvalidParameter {
            name: "resamples",
            reason: "must be at least 1".into(),
        });
    }
    let n = scores.len();
    let mut values = Vec::with_capacity(resamples);
    let (mut s, mut y) = (vec![0.0; n], vec![false; n]);
    for done in 1..=resamples {
        for (slot_s, slot_y) in s.iter_mut().zip(y.iter_mut()) {
            let i = uniform_index(rng, n);
            *slot_s = scores.get(i).copied().unwrap_or(0.0);
            *slot_y = labels.get(i).copied().unwrap_or(false);
        }
        if let Ok(a) = auroc(&s, &y) {
            values.push(a);
        }
        on_resample(done);
    }
    if values.is_empty() {
        return Err(ModelError::SingleClass);
    }
    values.sort_by(f64::total_cmp);
    let alpha = (1.0 - level) / 2.0;
    Ok(Interval {
        estimate,
        lower: quantile(&values, alpha),
        upper: quantile(&values, 1.0 - alpha),
        resamples: values.len(),
    })
}

/// Quantile of sorted values by linear interpolation.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len().saturating_sub(1)) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    let (a, b) = (
        sorted.get(lo).copied().unwrap_or(f64::NAN),
        sorted.get(hi).copied().unwrap_or(f64::NAN),
    );
    a + (b - a) * (pos - lo as f64)
}

fn check_probabilities(probabilities: &[f64], labels: &[bool]) -> Result<(), ModelError> {
    check(probabilities, labels)?;
    match probabilities.iter().position(|p| !(0.0..=1.0).contains(p)) {
        Some(row) => Err(ModelError::InvalidParameter {
            name: "probabilities",
            reason: format!("row {row} is outside [0, 1]"),
        }),
        None => Ok(()),
    }
}

/// Brier score: mean squared difference between probability and outcome.
pub fn brier(probabilities: &[f64], labels: &[bool]) -> Result<f64, ModelError> {
    check_probabilities(probabilities, labels)?;
    let sum: f64 = probabilities
        .iter()
        .zip(labels)
        .map(|(p, &y)| (p - f64::from(u8::from(y))).powi(2))
        .sum();
    Ok(sum / probabilities.len() as f64)
}

/// Equal-width calibration bins; probability 1.0 falls in the last bin.
pub fn calibration_bins(
    probabilities: &[f64],
    labels: &[bool],
    bins: usize,
) -> Result<Vec<CalibrationBin>, ModelError> {
    check_probabilities(probabilities, labels)?;
    if bins == 0 {
        return Err(ModelError::InvalidParameter {
            name: "bins",
            reason: "must be at least 1".into(),
        });
    }
    let mut sums = vec![(0usize, 0.0f64, 0usize); bins];
    for (&p, &y) in probabilities.iter().zip(labels) {
        let index = ((p * bins as f64) as usize).min(bins - 1);
        if let Some(slot) = sums.get_mut(index) {
            slot.0 += 1;
            slot.1 += p;
            slot.2 += usize::from(y);
        }
    }
    Ok(sums
        .into_iter()
        .enumerate()
        .map(|(i, (count, p_sum, events))| CalibrationBin {
            lower: i as f64 / bins as f64,
            upper: (i + 1) as f64 / bins as f64,
            count,
            mean_predicted: (count > 0).then(|| p_sum / count as f64),
            observed_rate: (count > 0).then(|| events as f64 / count as f64),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auroc_hand_computed() {
        // pairs (pos, neg): (0.35,0.1) win, (0.35,0.4) lose, (0.8,0.1) win, (0.8,0.4) win ⇒ 3/4
        let a = auroc(&[0.1, 0.4, 0.35, 0.8], &[false, false, true, true]).unwrap();
        assert!((a - 0.75).abs() < 1e-12);
    }

    #[test]
    fn ties_count_half() {
        assert!((auroc(&[0.5, 0.5], &[true, false]).unwrap() - 0.5).abs() < 1e-12);
        // pos 0.5 vs neg {0.5, 0.2}: ½ + 1 = 1.5 of 2
        assert!((auroc(&[0.5, 0.5, 0.2], &[true, false, false]).unwrap() - 0.75).abs() < 1e-12);
    }

    #[test]
    fn perfect_and_inverted() {
        assert_eq!(
            auroc(&[0.1, 0.2, 0.8, 0.9], &[false, false, true, true]).unwrap(),
            1.0
        );
        assert_eq!(
            auroc(&[0.9, 0.8, 0.2, 0.1], &[false, false, true, true]).unwrap(),
            0.0
        );
        assert_eq!(
            auroc(&[0.1, 0.2], &[true, true]),
            Err(ModelError::SingleClass)
        );
    }

    #[test]
    fn brier_hand_computed() {
        // (0.9−1)² + (0.2−0)² + (0.6−1)² + (0.5−0)² = 0.01 + 0.04 + 0.16 + 0.25 = 0.46 ⇒ /4
        let b = brier(&[0.9, 0.2, 0.6, 0.5], &[true, false, true, false]).unwrap();
        assert!((b - 0.115).abs() < 1e-12);
        assert!(brier(&[1.2], &[true]).is_err());
    }

    #[test]
    fn calibration_bins_count_and_rates() {
        let bins = calibration_bins(
            &[0.05, 0.15, 0.12, 0.95, 1.0],
            &[false, true, false, true, true],
            10,
        )
        .unwrap();
        assert_eq!(bins.len(), 10);
        assert_eq!(bins[0].count, 1);
        assert_eq!(bins[1].count, 2);
        assert_eq!(bins[1].observed_rate, Some(0.5));
        assert_eq!(bins[9].count, 2);
        assert_eq!(bins[5].mean_predicted, None);
    }

    #[test]
    fn bootstrap_progress_reports_each_resample_without_changing_the_interval() {
        use rand_chacha::ChaCha8Rng;
        use rand_core::SeedableRng;
        let scores = [0.1, 0.4, 0.35, 0.8, 0.2, 0.9, 0.6, 0.3];
        let labels = [false, false, true, true, false, true, true, false];
        let plain =
            auroc_bootstrap(&scores, &labels, 50, 0.9, &mut ChaCha8Rng::seed_from_u64(7)).unwrap();
        let mut seen = Vec::new();
        let observed = auroc_bootstrap_with_progress(
            &scores,
            &labels,
            50,
            0.9,
            &mut ChaCha8Rng::seed_from_u64(7),
            |done| seen.push(done),
        )
        .unwrap();
        assert_eq!(observed, plain);
        assert_eq!(seen, (1..=50).collect::<Vec<_>>());
    }

    #[test]
    fn quantile_interpolates() {
        assert!((quantile(&[1.0, 2.0, 3.0, 4.0, 5.0], 0.5) - 3.0).abs() < 1e-12);
        assert!((quantile(&[1.0, 2.0], 0.25) - 1.25).abs() < 1e-12);
    }
}
