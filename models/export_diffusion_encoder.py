#!/usr/bin/env python3
"""Export a DiffCut diffusion encoder (SSD-1B, SSD-Vega, SD1.4) with torch + diffusers.

Writes the same files as `deno task models prepare <id> --from DIR`, so `deno task segment --encoder <id>` uses
them directly:

    OUT/vae_encoder.onnx                    sample [1,3,S,S] in [-1,1] -> latent = posterior mean * scaling_factor (fp32)
    OUT/unet_encoder.onnx (+ _data)         (sample, timestep, encoder_hidden_states[, text_embeds, time_ids]) -> the
                                            output of the hooked attn1, [1, (S/32)^2, 1280]; nothing after it is exported
    OUT/conditioning.bin                    empty-prompt conditioning, float32: prompt_embeds then (SDXL) pooled text_embeds
    OUT/noise.bin                           (CUDA only) the reference's noise: torch.randn(1,4,S/8,S/8) on a CUDA
                                            generator seeded with 42
    OUT/encoder.json                        models/<id>.json plus file names, input names and SHA-256s

Usage (needs internet for the weights, `pip install torch diffusers transformers onnx`):

    python3 models/export_diffusion_encoder.py ssd-1b                 # -> ~/.cache/diffcut/ssd-1b
    python3 models/export_diffusion_encoder.py sd1.4 --out DIR --unet-dtype float32
"""

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile

import onnx
import torch
from diffusers import AutoPipelineForText2Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest(), os.path.getsize(path)


class VaeMean(torch.nn.Module):
    """2x-1 is done by the caller; returns the posterior mean times the scaling factor (no sampling)."""

    def __init__(self, vae):
        super().__init__()
        self.vae = vae

    def forward(self, sample):
        return self.vae.encode(sample).latent_dist.mean * self.vae.config.scaling_factor


class UnetToHook(torch.nn.Module):
    """Runs the UNet and returns what a forward hook on the hooked attn1 captured (later ops are dead code)."""

    def __init__(self, unet, hook, sdxl):
        super().__init__()
        self.unet = unet
        self.sdxl = sdxl
        self.captured = None
        unet.get_submodule(hook).register_forward_hook(self._keep)

    def _keep(self, module, inputs, output):
        self.captured = output

    def forward(self, sample, timestep, encoder_hidden_states, text_embeds=None, time_ids=None):
        added = {"text_embeds": text_embeds, "time_ids": time_ids} if self.sdxl else None
        self.unet(sample, timestep, encoder_hidden_states, added_cond_kwargs=added, return_dict=False)
        return self.captured


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


def main():
    registry = {f[:-5] for f in os.listdir(os.path.join(ROOT, "models")) if f.endswith(".json")}
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("id", help="encoder id in models/ (ssd-1b, ssd-vega, sd1.4)")
    parser.add_argument("--out", help="output folder (default: <cache>/<id>, the cache folder deno task segment reads)")
    parser.add_argument("--size", type=int, default=1024, help="input side used for tracing (default 1024)")
    parser.add_argument("--unet-dtype", choices=["float16", "float32"], default="float16")
    parser.add_argument("--opset", type=int, default=17)
    args = parser.parse_args()
    if args.id not in registry:
        sys.exit(f"error: encoder '{args.id}' is not in models/; expected one of {', '.join(sorted(registry))}")
    with open(os.path.join(ROOT, "models", f"{args.id}.json")) as f:
        sidecar = json.load(f)
    d = sidecar.get("diffusion")
    if d is None:
        sys.exit(f"error: encoder '{args.id}' is not a diffusion encoder; expected ssd-1b, ssd-vega or sd1.4")
    sdxl = d["family"] == "sdxl"
    out = os.path.abspath(args.out or os.path.join(user_cache_dir(), args.id))
    device = "cuda" if torch.cuda.is_available() else "cpu"
    s = args.size

    pipe = AutoPipelineForText2Image.from_pretrained(sidecar["source"]["repo"], torch_dtype=torch.float32)
    pipe.to(device)
    factor = pipe.vae.config.scaling_factor
    if abs(factor - d["scalingFactor"]) > 1e-9:
        sys.exit(f"error: the VAE's scaling_factor is {factor}, expected {d['scalingFactor']} as models/{args.id}.json says")
    blocks = pipe.unet.get_submodule(d["hook"].rsplit(".transformer_blocks.", 1)[0]).transformer_blocks
    if f"transformer_blocks.{len(blocks) - 1}.attn1" not in d["hook"]:
        sys.exit(f"error: {d['hook']} is not the last of {len(blocks)} transformer blocks; expected the last")

    os.makedirs(out, exist_ok=True)
    stage = tempfile.mkdtemp(dir=out, prefix=".export-")
    try:
        with torch.no_grad():
            # Empty-prompt conditioning, exactly as the reference computes it.
            if sdxl:
                embeds, _, pooled, _ = pipe.encode_prompt("", device=device, num_images_per_prompt=1,
                                                          do_classifier_free_guidance=False)
            else:
                embeds, _ = pipe.encode_prompt("", device, 1, False)
                pooled = None
            parts = [embeds.float().cpu().contiguous()] + ([pooled.float().cpu().contiguous()] if sdxl else [])
            with open(os.path.join(stage, "conditioning.bin"), "wb") as f:
                for p in parts:
                    f.write(p.numpy().astype("<f4").tobytes())

            # VAE encoder in fp32 (the SDXL VAE overflows in fp16).
            image = torch.zeros(1, 3, s, s, device=device)
            torch.onnx.export(VaeMean(pipe.vae).eval(), (image,), os.path.join(stage, "vae_encoder.onnx"),
                              input_names=["sample"], output_names=["latent"], opset_version=args.opset,
                              dynamic_axes={"sample": {2: "height", 3: "width"}, "latent": {2: "h", 3: "w"}},
                              dynamo=False)

            # UNet up to the hooked attn1.
            dtype = torch.float16 if args.unet_dtype == "float16" else torch.float32
            unet = pipe.unet.to(dtype)
            latent = torch.zeros(1, 4, s // 8, s // 8, device=device, dtype=dtype)
            timestep = torch.tensor([d["timestep"]], device=device, dtype=torch.int64)
            inputs = [latent, timestep, embeds.to(dtype)]
            names = ["sample", "timestep", "encoder_hidden_states"]
            if sdxl:
                time_ids = torch.tensor([[s, s, 0, 0, s, s]], device=device, dtype=dtype)
                inputs += [pooled.to(dtype), time_ids]
                names += ["text_embeds", "time_ids"]
            raw = os.path.join(stage, "raw", "unet.onnx")
            os.makedirs(os.path.dirname(raw))
            torch.onnx.export(UnetToHook(unet, d["hook"], sdxl).eval(), tuple(inputs), raw, input_names=names,
                              output_names=["features"], opset_version=args.opset,
                              dynamic_axes={"sample": {2: "h", 3: "w"}, "features": {1: "tokens"}}, dynamo=False)
            model = onnx.load(raw)
            onnx.save(model, os.path.join(stage, "unet_encoder.onnx"), save_as_external_data=True,
                      all_tensors_to_one_file=True, location="unet_encoder.onnx_data", size_threshold=1024)
            shutil.rmtree(os.path.dirname(raw))

            files = ["vae_encoder.onnx", "unet_encoder.onnx", "unet_encoder.onnx_data", "conditioning.bin"]
            if device == "cuda":
                generator = torch.Generator("cuda").manual_seed(d.get("noiseSeed", 42))
                noise = torch.randn(1, 4, s // 8, s // 8, generator=generator, device="cuda")
                with open(os.path.join(stage, "noise.bin"), "wb") as f:
                    f.write(noise.cpu().numpy().astype("<f4").tobytes())
                files.append("noise.bin")

        installed = []
        for name in files:
            digest, size = sha256(os.path.join(stage, name))
            installed.append({"path": name, "sha256": digest, "bytes": size})
        unet_inputs = {"sample": "sample", "timestep": "timestep", "encoderHiddenStates": "encoder_hidden_states"}
        if sdxl:
            unet_inputs.update(textEmbeds="text_embeds", timeIds="time_ids")
        shapes = {"encoderHiddenStates": list(parts[0].shape)}
        if sdxl:
            shapes["textEmbeds"] = list(parts[1].shape)
        sidecar.update(
            model="unet_encoder.onnx",
            sha256=installed[1]["sha256"],
            files=installed,
            exportedBy=f"models/export_diffusion_encoder.py {args.id} (unet {args.unet_dtype}, {device})",
        )
        sidecar["input"]["name"] = "sample"
        sidecar["output"]["name"] = "features"
        sidecar["diffusion"].update(vae="vae_encoder.onnx", vaeOutput="latent", unetInputs=unet_inputs,
                                    conditioning="conditioning.bin", conditioningShapes=shapes)
        if "noise.bin" in files:
            sidecar["diffusion"]["noise"] = "noise.bin"
        for name in files:
            os.replace(os.path.join(stage, name), os.path.join(out, name))
        with open(os.path.join(stage, "encoder.json"), "w") as f:
            json.dump(sidecar, f, indent=2)
            f.write("\n")
        os.replace(os.path.join(stage, "encoder.json"), os.path.join(out, "encoder.json"))
        print(f"wrote {out}/encoder.json; run: deno task segment --encoder {args.id} photo.jpg")
    finally:
        shutil.rmtree(stage, ignore_errors=True)


if __name__ == "__main__":
    main()
