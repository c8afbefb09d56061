"""What the console's browser tests work on, set up through the public APIs as operations
staff and a client would: an ontology, rubrics with gates and conditional requirements, an
image project, a video project and a short-lease project, vetted experts on their rosters,
and items whose media are real files served by signed links."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from deploy.demo import program as p
from deploy.demo.api import Quorum
from deploy.demo.crowd import Persona
from deploy.demo.media import MediaLibrary

IMAGE_CLASSES = [
    {"id": "car", "name": "car", "display_name": "Car", "modalities": ["image", "video"]},
    {"id": "person", "name": "person", "display_name": "Person", "modalities": ["image", "video"]},
    {
        "id": "cyclist",
        "name": "cyclist",
        "display_name": "Cyclist",
        "modalities": ["image", "video"],
    },
]
SKILL = {"modality.image": 3, "modality.video": 3, "modality.multimodal": 3}

#: the image rubric: a gate flag, a flag that needs a severity, a rated dimension with
#: anchors, labels (boxes, polygons) required to correct, a justification to reject
IMAGE_RUBRIC: dict[str, Any] = {
    "name": "Street labels QA",
    "description": "Check the pre-labelled objects; correct them by drawing.",
    "verdicts": ["accept", "correct", "reject"],
    "dimensions": [
        {
            "name": "label_quality",
            "title": "Quality of the pre-labels",
            "scale_min": 1,
            "scale_max": 5,
            "anchors": {"1": "unusable", "3": "usable with fixes", "5": "perfect"},
        }
    ],
    "asks_severity": True,
    "flags": [
        {"name": "unusable_media", "title": "Media unusable", "gate": True},
        {"name": "occluded", "title": "Object occluded", "requires_severity": True},
    ],
    "labels": {"asked": True, "shapes": ["box", "polygon", "mask"], "required_for": ["correct"]},
    "justification": {"min_length": 30, "verdicts": ["reject"]},
}
VIDEO_RUBRIC: dict[str, Any] = {
    "name": "Clip segments QA",
    "verdicts": ["accept", "correct", "reject"],
    "labels": {"asked": True, "shapes": ["segment"], "required_for": ["correct"]},
}


@dataclass
class World:
    tenant: str
    image_project: str
    video_project: str
    short_project: str
    image_expert: str
    second_expert: str
    video_expert: str
    short_expert: str
    edit_project: str
    edit_expert: str
    mask_expert: str
    dash_project: str
    dash_experts: tuple[str, str]
    items: dict[str, list[str]] = field(default_factory=dict)


def _image_item(media: MediaLibrary, project_id: str, n: int) -> dict[str, Any]:
    image = media.image(
        f"{project_id}/{n}",
        width=320,
        height=240,
        seed=n,
        shapes=[("car", (40.0, 60.0, 120.0, 90.0))],
    )
    return {
        "external_id": f"{project_id}-{n}",
        "project_id": project_id,
        "modality": "image",
        "media": image.descriptor(),
        "prelabels": {
            "model_name": "detector",
            "model_version": "1",
            "labels": [
                {
                    "class_id": "car",
                    "confidence": 0.8,
                    "geometry": {"kind": "box", "x": 40, "y": 60, "width": 120, "height": 90},
                }
            ],
        },
    }


def _edit_item(media: MediaLibrary, project_id: str, n: int) -> dict[str, Any]:
    shapes = [("subject", (60.0, 50.0, 90.0, 100.0))]
    source = media.image(f"{project_id}/{n}-source", width=256, height=192, seed=n, shapes=shapes)
    text = media.text(f"{project_id}/{n}-instruction", "Make it night, keep the subject.")
    edited = media.image(
        f"{project_id}/{n}-edited", width=256, height=192, scene="night", seed=n, shapes=shapes
    )
    return {
        "external_id": f"{project_id}-{n}",
        "project_id": project_id,
        "modality": "multimodal",
        "parts": [
            {"name": "source", "role": "source_image", "media": source.descriptor()},
            {"name": "instruction", "role": "instruction", "media": text.descriptor()},
            {"name": "edited", "role": "edited_image", "media": edited.descriptor()},
        ],
    }


def _video_item(media: MediaLibrary, project_id: str, n: int) -> dict[str, Any]:
    clip = media.video(f"{project_id}/{n}", duration_s=4.0, segments=[("car", 1.0, 2.5)], seed=n)
    return {
        "external_id": f"{project_id}-{n}",
        "project_id": project_id,
        "modality": "video",
        "media": clip.descriptor(),
        "prelabels": {
            "model_name": "tracker",
            "model_version": "1",
            "labels": [{"class_id": "car", "segment": {"start_s": 1.0, "end_s": 2.5}}],
        },
    }


async def build(api: Quorum, media: MediaLibrary, run: str) -> World:
    world = World(
        tenant=api.tenant,
        image_project=f"street-{run}",
        video_project=f"clips-{run}",
        short_project=f"short-{run}",
        image_expert=f"ada-{run}",
        second_expert=f"bo-{run}",
        video_expert=f"cy-{run}",
        short_expert=f"di-{run}",
        edit_project=f"edits-{run}",
        edit_expert=f"ed-{run}",
        mask_expert=f"mo-{run}",
        dash_project=f"watched-{run}",
        dash_experts=(f"eve-{run}", f"fay-{run}"),
    )
    taxonomy = await p.publish_ontology(api, f"Street {run}", IMAGE_CLASSES)
    await p.create_rubric(api, f"street-qa-{run}", definition=IMAGE_RUBRIC)
    await p.create_rubric(api, f"clips-qa-{run}", definition=VIDEO_RUBRIC)
    await p.create_rubric(api, f"edits-qa-{run}", template="image_edit_evaluation")
    experts = {
        name: Persona(name, SKILL)
        for name in (
            world.image_expert,
            world.second_expert,
            world.video_expert,
            world.short_expert,
            world.edit_expert,
            world.mask_expert,
            *world.dash_experts,
        )
    }
    for persona in experts.values():
        await p.onboard(api, persona)

    def project(project_id: str, modality: str, rubric: str, **policy: Any) -> dict[str, Any]:
        return {
            "project_id": project_id,
            "name": project_id,
            "modality": modality,
            "taxonomy": taxonomy,
            "rubric": {"rubric_id": rubric},
            "required_skills": {f"modality.{modality}": 3},
            "overlap": {"k": policy.pop("k", 1)},
            **policy,
        }

    await p.open_project(
        api,
        project(world.image_project, "image", f"street-qa-{run}", k=2),
        [experts[world.image_expert], experts[world.second_expert], experts[world.mask_expert]],
    )
    await p.open_project(
        api, project(world.video_project, "video", f"clips-qa-{run}"), [experts[world.video_expert]]
    )
    # a lease of 5 s, at most 20 s with heartbeats: the expiry test waits it out
    await p.open_project(
        api,
        project(
            world.short_project, "image", f"street-qa-{run}", lease_ttl_s=5, lease_max_life_s=20
        ),
        [experts[world.short_expert]],
    )
    await p.open_project(
        api,
        project(world.edit_project, "multimodal", f"edits-qa-{run}"),
        [experts[world.edit_expert]],
    )
    # the dashboard's: judged through the API while a browser watches
    await p.open_project(
        api,
        project(world.dash_project, "image", f"street-qa-{run}", k=2),
        [experts[e] for e in world.dash_experts],
    )
    bodies = {
        world.dash_project: [_image_item(media, world.dash_project, n) for n in range(4)],
        world.edit_project: [_edit_item(media, world.edit_project, n) for n in range(2)],
        world.image_project: [_image_item(media, world.image_project, n) for n in range(8)],
        world.video_project: [_video_item(media, world.video_project, n) for n in range(3)],
        world.short_project: [_image_item(media, world.short_project, n) for n in range(1)],
    }
    for project_id, items in bodies.items():
        registered = await p.register_http(api, items)
        world.items[project_id] = list(registered.values())
    return world
