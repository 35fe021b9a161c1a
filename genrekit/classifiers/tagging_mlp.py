"""The ``mlp`` as a multi-label tagger: the same network with one sigmoid output per tag and a
binary cross-entropy loss, fitted once on the multi-hot matrix (not once per tag).

:class:`SigmoidMLPTagger` takes its hyper-parameters from the registry's
:class:`~genrekit.classifiers.neural.TorchMLPClassifier` (``hidden``, ``dropout``, ``lr``,
``weight_decay``, ``batch_size``, ``max_epochs``, ``patience``, ``validation_fraction``,
``augment``/``noise``, ``device``, ``random_state``), so ``--param mlp.KEY=VALUE`` means the same
for genres and tags. As for genres: standardisation on the training rows only, validation tracks
carved by artist (when known) for early stopping on the validation loss, the best epoch kept.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted


class SigmoidMLPTagger(BaseEstimator):
    """Multi-label MLP (sigmoid outputs, BCE loss) with the hyper-parameters of ``base``."""

    #: Fitted on the multi-hot matrix as it is (see genrekit.pipeline.evaluation.tag_models).
    multilabel_native = True

    def __init__(self, base=None):
        self.base = base

    def _carve(self, n, groups, fraction, seed):
        from sklearn.model_selection import GroupShuffleSplit, ShuffleSplit

        if not fraction or n < 8:
            return np.arange(n), np.arange(0)
        if groups is not None and len(set(groups)) >= 3:
            return next(GroupShuffleSplit(1, test_size=fraction, random_state=seed).split(np.zeros(n), groups=groups))
        return next(ShuffleSplit(1, test_size=fraction, random_state=seed).split(np.zeros(n)))

    def fit(self, X, Y, groups=None):
        """Fit on summary vectors ``X (n, d)`` and multi-hot ``Y (n, n_tags)``."""
        import torch

        from genrekit.classifiers.torch_base import _TorchThreads
        from genrekit.classifiers.torch_heads import build_network, resolve_device

        p = self.base.get_params()
        X = np.asarray(X, np.float32)
        Y = np.asarray(Y, np.float32)
        if Y.ndim != 2 or len(Y) != len(X):
            raise ValueError(f"expected multi-hot targets of shape ({len(X)}, n_tags), got {Y.shape}")
        seed = int(p["random_state"] or 0) % (2**32)
        self.mean_ = X.mean(axis=0)
        sd = X.std(axis=0)
        self.scale_ = np.where(sd > 1e-8, sd, 1.0).astype(np.float32)
        Z = (X - self.mean_) / self.scale_
        tr, va = self._carve(len(X), groups, float(p["validation_fraction"]), seed)
        hidden = tuple(int(h) for h in str(p["hidden"]).replace(" ", "").split(",") if h) \
            if isinstance(p["hidden"], str) else tuple(int(h) for h in p["hidden"])
        self.device_ = resolve_device(p["device"])
        with torch.random.fork_rng(devices=[]), _TorchThreads(p["n_threads"]):
            torch.manual_seed(seed)
            self.module_ = build_network("mlp", {"in_dims": X.shape[1], "n_classes": Y.shape[1], "hidden": hidden,
                                                 "dropout": float(p["dropout"])}).to(self.device_)
            self.history_ = self._train(Z, Y, tr, va, p, seed)
        self.module_.eval()
        self.n_tags_ = Y.shape[1]
        return self

    def _train(self, Z, Y, tr, va, p, seed) -> list[dict]:
        import torch

        dev, net = self.device_, self.module_
        opt = torch.optim.AdamW(net.parameters(), lr=float(p["lr"]), weight_decay=float(p["weight_decay"]))
        loss_fn = torch.nn.BCEWithLogitsLoss()
        Zt, Yt = torch.from_numpy(Z).to(dev), torch.from_numpy(Y).to(dev)
        rng = np.random.default_rng(seed)
        noise = float(p["noise"]) if p["augment"] else 0.0
        best, best_state, history, waited = np.inf, None, [], 0
        bs = max(2, int(p["batch_size"]))
        for epoch in range(int(p["max_epochs"])):
            net.train()
            order = rng.permutation(tr)
            total = 0.0
            for i in range(0, len(order), bs):
                idx = order[i:i + bs]
                if len(idx) < 2:  # batch normalisation needs two rows
                    continue
                x = Zt[idx]
                if noise:
                    x = x + noise * torch.from_numpy(rng.standard_normal(x.shape).astype(np.float32)).to(dev)
                loss = loss_fn(net(x), Yt[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += float(loss) * len(idx)
            row = {"epoch": epoch + 1, "train_loss": total / max(1, len(tr))}
            if len(va):
                net.eval()
                with torch.no_grad():
                    row["valid_loss"] = float(loss_fn(net(Zt[va]), Yt[va]))
                if row["valid_loss"] < best - 1e-6:
                    best, waited = row["valid_loss"], 0
                    best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
                else:
                    waited += 1
            history.append(row)
            if len(va) and p["patience"] is not None and waited >= int(p["patience"]):
                break
        if best_state is not None:
            net.load_state_dict(best_state)
        return history

    def predict_proba(self, X) -> np.ndarray:
        """``(n, n_tags)`` sigmoid probabilities."""
        import torch

        check_is_fitted(self, "module_")
        Z = (np.asarray(X, np.float32) - self.mean_) / self.scale_
        with torch.no_grad():
            return torch.sigmoid(self.module_(torch.from_numpy(Z).to(self.device_))).cpu().double().numpy()
