//! The draw of an acceptance round: a seeded, reproducible choice of copies, even across
//! labelers. Pure: no store, no use cases.

use std::collections::BTreeMap;

/// SplitMix64 (Steele, Lea and Flood 2014): a small generator whose sequence for a seed never
/// changes, so a stored seed repeats its draw.
pub(crate) struct SplitMix64(pub(crate) u64);

impl SplitMix64 {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in 0..n (n > 0), without modulo bias worth speaking of for n far below 2^64.
    pub(crate) fn below(&mut self, n: usize) -> usize {
        ((self.next() as u128 * n as u128) >> 64) as usize
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}

/// The copies a round draws out of its scope: `n` of them, each labeler's share proportional
/// to their share of the scope (largest remainder, ties broken by the seed), chosen within a
/// labeler by a seeded shuffle. `scope` is ordered by sample then worker; the answer is sorted.
pub fn draw(scope: &[(i64, &str)], n: usize, seed: u64) -> Vec<i64> {
    let n = n.min(scope.len());
    let mut by_worker: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    for (id, worker) in scope {
        by_worker.entry(worker).or_default().push(*id);
    }
    let total = scope.len();
    let mut rng = SplitMix64(seed);
    // Each labeler's quota: the floor of their exact share, then one more for the largest
    // remainders (ties in a seeded order) until n are given.
    let mut quotas: Vec<(&str, usize, usize, u64)> = by_worker
        .iter()
        .map(|(w, ids)| {
            let exact = n * ids.len();
            (*w, exact / total, exact % total, rng.next())
        })
        .collect();
    let given: usize = quotas.iter().map(|q| q.1).sum();
    let mut order: Vec<usize> = (0..quotas.len()).collect();
    order.sort_by(|a, b| quotas[*b].2.cmp(&quotas[*a].2).then(quotas[*a].3.cmp(&quotas[*b].3)));
    for i in order.into_iter().take(n - given) {
        quotas[i].1 += 1;
    }
    let mut drawn = Vec::with_capacity(n);
    for (worker, quota, _, _) in quotas {
        let mut ids = by_worker[worker].clone();
        rng.shuffle(&mut ids);
        drawn.extend(ids.into_iter().take(quota));
    }
    drawn.sort_unstable();
    drawn
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(workers: &[(&'static str, usize)]) -> Vec<(i64, &'static str)> {
        let mut out = Vec::new();
        for (w, n) in workers {
            for _ in 0..*n {
                out.push((out.len() as i64, *w));
            }
        }
        out
    }

    #[test]
    fn the_generator_is_splitmix64() {
        // The reference outputs for seed 1234567 (Vigna's splitmix64.c; Rosetta Code,
        // "Pseudo-random numbers/Splitmix64").
        let mut rng = SplitMix64(1234567);
        let got: Vec<u64> = (0..5).map(|_| rng.next()).collect();
        assert_eq!(
            got,
            [
                6457827717110365317,
                3203168211198807973,
                9817491932198370423,
                4593380528125082431,
                16408922859458223821
            ]
        );
    }

    #[test]
    fn a_seed_draws_the_same_copies_every_time() {
        let s = scope(&[("a", 40), ("b", 40), ("c", 20)]);
        assert_eq!(draw(&s, 30, 7), draw(&s, 30, 7));
        assert_ne!(draw(&s, 30, 7), draw(&s, 30, 8));
        // Pinned: a round's stored seed must repeat its draw in every later version, so a
        // change to the draw shows up here before it reaches a stored round.
        assert_eq!(draw(&scope(&[("a", 5), ("b", 5)]), 4, 42), PINNED);
    }

    const PINNED: [i64; 4] = [2, 3, 5, 7];

    #[test]
    fn the_draw_is_even_across_labelers() {
        let s = scope(&[("a", 40), ("b", 40), ("c", 20)]);
        let drawn = draw(&s, 50, 3);
        let of = |w: &str| drawn.iter().filter(|id| s[**id as usize].1 == w).count();
        assert_eq!((of("a"), of("b"), of("c")), (20, 20, 10));
        // Remainders: 3 of 3 labelers with 1 copy each, 2 drawn: two labelers give one each.
        let s = scope(&[("a", 1), ("b", 1), ("c", 1)]);
        assert_eq!(draw(&s, 2, 9).len(), 2);
    }

    #[test]
    fn asking_for_more_than_the_scope_draws_it_all() {
        let s = scope(&[("a", 3), ("b", 2)]);
        assert_eq!(draw(&s, 99, 1), vec![0, 1, 2, 3, 4]);
    }
}
