#!/usr/bin/env python3
"""Export the ConvNeXt CLIP of the open-vocabulary labels (issue #19) with torch + open_clip.

open_clip `convnext_large_d_320`, weights `laion2b_s29b_b131k_ft_soup` (as the authors' eval_diffcut_openvoc.py),
written in the layout of models/convnext-clip.json, so `loadOpenVocab("convnext-clip")` uses it directly:

    OUT/visual_dense.onnx         image [1,3,H,W] (CLIP-normalised RGB, H and W multiples of 32) -> clip_vis_dense
                                  [1,1536,H/32,W/32]: trunk stem, the four stages and norm_pre (the authors'
                                  extract_features_convnext)
    OUT/visual_head.onnx          pooled [N,1536] -> embedding [N,768]: trunk.head then visual.head on a 1x1 map (the
                                  authors' visual_prediction_forward_convnext)
    OUT/text.onnx                 input_ids [N,77] int64 (0-padded, end of text = highest id) -> text_embedding
                                  [N,768], unnormalised (encode_text)
    OUT/bpe_simple_vocab_16e6.txt.gz   open_clip's merges file (lib/openvocab/clip_tokenizer.ts reads it)
    OUT/encoder.json              models/convnext-clip.json plus file SHA-256s and the model's logit scale

Usage (needs internet for the weights, `pip install torch open_clip_torch onnx`):

    python3 models/export_convnext_clip.py                 # -> ~/.cache/diffcut/convnext-clip
    python3 models/export_convnext_clip.py --out DIR
"""

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile

import open_clip
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL, PRETRAINED = "convnext_large_d_320", "laion2b_s29b_b131k_ft_soup"


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest(), os.path.getsize(path)


def user_cache_dir():
    """The model cache of lib/encoder/model_cache.ts: $DIFFCUT_CACHE_DIR, else the platform's user cache folder."""
    if os.environ.get("DIFFCUT_CACHE_DIR"):
        return os.environ["DIFFCUT_CACHE_DIR"]
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or os.path.join(os.path.expanduser("~"), "AppData", "Local")
        return os.path.join(base, "diffcut")
    if sys.platform == "darwin":
        return os.path.join(os.path.expanduser("~"), "Library", "Caches", "diffcut")
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    return os.path.join(xdg if os.path.isabs(xdg) else os.path.join(os.path.expanduser("~"), ".cache"), "diffcut")


class Dense(torch.nn.Module):
    """The ConvNeXt trunk up to clip_vis_dense (stride 32)."""

    def __init__(self, visual):
        super().__init__()
        self.trunk = visual.trunk

    def forward(self, image):
        x = self.trunk.stem(image)
        for stage in self.trunk.stages:
            x = stage(x)
        return self.trunk.norm_pre(x)


class Head(torch.nn.Module):
    """Pooled trunk vectors -> CLIP's joint space, through the trunk head and the visual head."""

    def __init__(self, visual):
        super().__init__()
        self.visual = visual

    def forward(self, pooled):
        x = pooled.reshape(pooled.shape[0], pooled.shape[1], 1, 1)
        return self.visual.head(self.visual.trunk.head(x))


class Text(torch.nn.Module):
    """Token ids -> the projected end-of-text embedding, unnormalised."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids):
        return self.model.encode_text(input_ids, normalize=False)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", help="output folder (default: <cache>/convnext-clip, the folder loadOpenVocab reads)")
    parser.add_argument("--size", type=int, default=320, help="input side used for tracing (default 320)")
    parser.add_argument("--opset", type=int, default=17)
    args = parser.parse_args()
    if args.size % 32:
        sys.exit("--size must be a multiple of 32")
    with open(os.path.join(ROOT, "models", "convnext-clip.json")) as f:
        sidecar = json.load(f)
    out = os.path.abspath(args.out or os.path.join(user_cache_dir(), sidecar["id"]))
    os.makedirs(out, exist_ok=True)

    model, _, _ = open_clip.create_model_and_transforms(MODEL, pretrained=PRETRAINED)
    model.eval()
    tokenizer = open_clip.get_tokenizer(MODEL)
    ov = sidecar["openVocab"]
    stage = tempfile.mkdtemp(dir=out)
    try:
        with torch.no_grad():
            image = torch.randn(1, 3, args.size, args.size)
            dense = Dense(model.visual)
            channels = dense(image).shape[1]
            torch.onnx.export(dense, (image,), os.path.join(stage, sidecar["model"]), opset_version=args.opset,
                              input_names=[sidecar["input"]["name"]], output_names=[sidecar["output"]["name"]],
                              dynamic_axes={sidecar["input"]["name"]: {2: "height", 3: "width"},
                                            sidecar["output"]["name"]: {2: "rows", 3: "cols"}})
            pooled = torch.randn(2, channels)
            torch.onnx.export(Head(model.visual), (pooled,), os.path.join(stage, ov["head"]["model"]),
                              opset_version=args.opset, input_names=[ov["head"]["input"]],
                              output_names=[ov["head"]["output"]],
                              dynamic_axes={ov["head"]["input"]: {0: "n"}, ov["head"]["output"]: {0: "n"}})
            ids = tokenizer(["a photo of a cat.", "There is a large sofa in the scene."])
            text_out = Text(model)(ids)
            torch.onnx.export(Text(model), (ids,), os.path.join(stage, ov["text"]["model"]), opset_version=args.opset,
                              input_names=[ov["text"]["input"]], output_names=[ov["text"]["output"]],
                              dynamic_axes={ov["text"]["input"]: {0: "n"}, ov["text"]["output"]: {0: "n"}})
            logit_scale = float(model.logit_scale.exp().clamp(max=100).item())
        shutil.copyfile(open_clip.tokenizer.default_bpe(), os.path.join(stage, ov["tokenizer"]))

        files = [sidecar["model"], ov["head"]["model"], ov["text"]["model"], ov["tokenizer"]]
        installed = []
        for name in files:
            digest, size = sha256(os.path.join(stage, name))
            installed.append({"path": name, "sha256": digest, "bytes": size})
        sidecar["output"]["channels"] = int(channels)
        ov.update(embedDim=int(text_out.shape[1]), contextLength=int(ids.shape[1]), logitScale=logit_scale)
        sidecar.update(sha256=installed[0]["sha256"], files=installed,
                       exportedBy=f"models/export_convnext_clip.py ({MODEL}, {PRETRAINED}, open_clip "
                                  f"{open_clip.__version__})")
        for name in files:
            os.replace(os.path.join(stage, name), os.path.join(out, name))
        with open(os.path.join(stage, "encoder.json"), "w") as f:
            json.dump(sidecar, f, indent=2)
            f.write("\n")
        os.replace(os.path.join(stage, "encoder.json"), os.path.join(out, "encoder.json"))
        print(f"wrote {out}/encoder.json")
    finally:
        shutil.rmtree(stage, ignore_errors=True)


if __name__ == "__main__":
    main()
