"""The networks as the tracker calls them: numpy in, numpy out, whatever runs them (PyTorch or onnxruntime).

A *proposal net* maps stacks ``(b, t, h, w, 3)`` uint8 RGB at the proposal's input size to ``logits (b, t, h/4,
w/4)`` and ``offset (b, t, 2, h/4, w/4)`` float32 (see :mod:`model.proposal`) and tells its ``frames`` and
``peak_radius``; a *refine net* maps crop stacks ``(b, t, P, P, 3)`` uint8 to ``prob (b,)`` ball probability,
``xy (b, 2)`` crop pixels and ``code (b,)`` in 1..3 (see :mod:`model.refine`). The uint8-to-float conversion,
the sigmoid and the arg-max live inside the nets, so an exported graph does exactly what the PyTorch path does.

This module imports no torch: the ONNX runtime path (:mod:`tracking.onnx_nets`) is built on it; an ``nn.Module``
handed to the candidate code is wrapped by :mod:`tracking.torch_nets` on first use.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from data_prep.crops import CropSpec
from data_prep.stack_spec import StackSpec
from tracking.decode import DecodeParams


class NumpyNet:
    """Marker base of the numpy-in, numpy-out nets (:class:`tracking.torch_nets.TorchProposal`, ...)."""


@dataclass
class ProposalStage:
    model: object  # model.proposal.ProposalNet, or a proposal NumpyNet
    spec: StackSpec
    threshold: float  # presence threshold of the top-1 candidate chosen on validation
    path: Path


@dataclass
class RefineStage:
    model: object  # model.refine.RefineNet, or a refine NumpyNet
    spec: CropSpec
    path: Path


@dataclass
class Bundle:
    proposal: ProposalStage
    refine: RefineStage | None
    decode: DecodeParams
    settings: dict


def proposal_net(net, device="cpu") -> NumpyNet:
    """``net`` as a numpy proposal net: a ``NumpyNet`` as it is, an ``nn.Module`` wrapped to run on ``device``."""
    if isinstance(net, NumpyNet):
        return net
    from tracking.torch_nets import TorchProposal

    return TorchProposal(net, device)


def refine_net(net, device="cpu") -> NumpyNet:
    """``net`` as a numpy refine net (see :func:`proposal_net`)."""
    if isinstance(net, NumpyNet):
        return net
    from tracking.torch_nets import TorchRefiner

    return TorchRefiner(net, device)

