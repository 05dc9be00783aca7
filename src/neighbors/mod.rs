//! Exact nearest neighbours: the blocked search ([`exact`]) and the k-NN graphs built on it
//! ([`graph`]). Below both the baselines (Isomap, LLE, t-SNE), the training objectives that
//! keep neighbourhoods (parametric UMAP) and the analysis tools (map quality, tangents).

pub mod exact;
pub mod graph;
