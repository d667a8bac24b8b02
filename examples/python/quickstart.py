"""spikepop from Python: reconstruct the bundled STG recordings and plot what came out.

    pip install ./crates/python matplotlib      # once, from the repository's root
    python examples/python/quickstart.py        # writes out/quickstart/ and out/quickstart.png

Reads the five bundled recordings, predicts their dynamic input conductances (DICs), builds a verified
population of 50 models per recording, saves the same files as `spikepop reconstruct`, and plots the
populations in the DIC plane (g_s, g_u) and the distributions of their maximal conductances. Recording 5 fires
doublets that few models reproduce: it needs about 1,100 of its budget of 1,500 candidates (30 per model wanted);
when a budget runs out, the recording's status says how many models it found (`max_candidates=` raises it).
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display needed
import matplotlib.pyplot as plt

import spikepop

root = Path(__file__).resolve().parents[2]
out = root / "out"
out.mkdir(exist_ok=True)

trains = spikepop.read(root / "examples" / "stg_set.csv")
print(spikepop.features(trains)[["ID", "label", "mean_rate_hz", "spikes_per_burst"]])

result = spikepop.reconstruct(trains, model="stg", n=50, seed=1)
result.save(out / "quickstart")
print(result)
print(result.summary[["ID", "label", "pred_g_s", "pred_sd_g_s", "pred_g_u", "pred_sd_g_u", "status"]])

pop = result.population
channels = [c for c in pop.columns if c.startswith("g_") and c not in ("g_f", "g_s", "g_u")]
fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
for rid, members in pop.groupby("ID"):
    axes[0].scatter(members["g_s"], members["g_u"], s=8, label=f"recording {rid}")
axes[0].set(xlabel="g_s (slow DIC)", ylabel="g_u (ultraslow DIC)", title="Populations in the DIC plane")
axes[0].legend(fontsize=8)
axes[1].boxplot([pop[c] for c in channels], showfliers=False)
axes[1].set_xticks(range(1, len(channels) + 1), channels, rotation=45)
axes[1].set(yscale="log", ylabel="maximal conductance", title="Conductances of every member")
fig.tight_layout()
fig.savefig(out / "quickstart.png", dpi=120)
print(f"wrote {out / 'quickstart'} and {out / 'quickstart.png'}")
