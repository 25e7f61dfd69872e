/**
 * The page side of the renderer: a mannequin on a checkered floor, drawn frame by frame with three.js
 * and handed back as H.264 (WebCodecs) or as images. It runs in Chromium on SwiftShader (a CPU
 * rasteriser), so the scene is kept cheap: three instanced draw calls for the body and, in the default
 * fast mode, a contact shadow computed in the floor's shader instead of a shadow-map pass. Node plans
 * camera and timing; this file only draws what it is told.
 */
import * as THREE from 'three';
import { JOINT, JOINT_NAMES, NUM_JOINTS, PARENTS } from '../../motion/skeleton.js';
import type { BatchResult, CellJob, SceneJob, SceneResult } from '../protocol.js';

// The skeleton is src/motion's own: the build (and the page server in development) bundles it into the page.
const NAMES: readonly string[] = JOINT_NAMES;
const NJ = NUM_JOINTS;
const J: Record<string, number> = JOINT;

/** Bone radius (metres) by child joint: a sturdy torso, tapering limbs. */
const BONE_RADIUS: Record<string, number> = {
  left_hip: 0.07,
  right_hip: 0.07,
  spine1: 0.1,
  spine2: 0.105,
  spine3: 0.11,
  neck: 0.045,
  head: 0.045,
  left_collar: 0.06,
  right_collar: 0.06,
  left_shoulder: 0.05,
  right_shoulder: 0.05,
  left_elbow: 0.042,
  right_elbow: 0.042,
  left_wrist: 0.034,
  right_wrist: 0.034,
  left_knee: 0.062,
  right_knee: 0.062,
  left_ankle: 0.048,
  right_ankle: 0.048,
  left_foot: 0.036,
  right_foot: 0.036,
};
const HEAD_RADIUS = 0.105;

const COLORS = {
  left: new THREE.Color('#5b8fd1'),
  right: new THREE.Color('#e3955a'),
  centre: new THREE.Color('#e6e2da'),
  head: new THREE.Color('#efebe4'),
  nose: new THREE.Color('#3a3f4a'),
  background: new THREE.Color('#dfe6ee'),
  trail: new THREE.Color('#7a8aa0'),
};

function sideColour(joint: number): THREE.Color {
  const name = NAMES[joint];
  if (name.startsWith('left_')) return COLORS.left;
  if (name.startsWith('right_')) return COLORS.right;
  return COLORS.centre;
}

function decodeF32(b64: string): Float32Array {
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return new Float32Array(bytes.buffer);
}

async function bytesToBase64(bytes: Uint8Array | Blob): Promise<string> {
  const blob = bytes instanceof Blob ? bytes : new Blob([bytes as Uint8Array<ArrayBuffer>]);
  const url = await new Promise<string>((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result as string);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });
  return url.slice(url.indexOf(',') + 1);
}

const FOG_NEAR = 9;
const FOG_FAR = 24;

/**
 * A checkered floor computed per pixel: 0.5 m tiles (so travel and speed are readable), box-filtered
 * with fwidth so distant tiles fade to grey instead of shimmering, and faded into the background
 * colour with distance. On SwiftShader this costs a fraction of a mip-mapped, anisotropic texture.
 */
/** A colour's sRGB components as a shader uniform (for shaders that write sRGB directly). */
function srgbVector(color: THREE.ColorRepresentation): THREE.Vector3 {
  const c = new THREE.Color(color).getRGB({ r: 0, g: 0, b: 0 }, THREE.SRGBColorSpace);
  return new THREE.Vector3(c.r, c.g, c.b);
}

function floorMaterial(contactShadow: boolean): THREE.ShaderMaterial {
  return new THREE.ShaderMaterial({
    defines: contactShadow ? { CONTACT_SHADOW: 1, NBLOB: SHADOW_BLOBS.length } : {},
    uniforms: {
      tileA: { value: srgbVector('#c9d1da') },
      tileB: { value: srgbVector('#b3bdca') },
      fogColor: { value: srgbVector(COLORS.background) },
      fogNear: { value: FOG_NEAR },
      fogFar: { value: FOG_FAR },
      blobs: { value: SHADOW_BLOBS.map(() => new THREE.Vector4()) },
      blobBound: { value: new THREE.Vector3() },
    },
    vertexShader: `
      varying vec3 vWorld;
      void main() {
        vec4 w = modelMatrix * vec4(position, 1.0);
        vWorld = w.xyz;
        gl_Position = projectionMatrix * viewMatrix * w;
      }`,
    fragmentShader: `
      uniform vec3 tileA; uniform vec3 tileB; uniform vec3 fogColor; uniform float fogNear; uniform float fogFar;
      #ifdef CONTACT_SHADOW
      // xy: centre on the floor, z: 1 / radius², w: darkness; blobBound: xy centre, z radius² of them all
      uniform vec4 blobs[NBLOB];
      uniform vec3 blobBound;
      #endif
      varying vec3 vWorld;
      void main() {
        vec2 p = vWorld.xz * 2.0;
        vec2 w = max(fwidth(p), vec2(1e-4));
        // integral of a square wave over the pixel footprint: an antialiased checker
        vec2 i = 2.0 * (abs(fract((p - 0.5 * w) * 0.5) - 0.5) - abs(fract((p + 0.5 * w) * 0.5) - 0.5)) / w;
        float checker = 0.5 - 0.5 * i.x * i.y;
        vec3 c = mix(tileA, tileB, checker);
        #ifdef CONTACT_SHADOW
        vec2 q = vWorld.xz - blobBound.xy;
        if (dot(q, q) < blobBound.z) {
          float lit = 1.0;
          for (int k = 0; k < NBLOB; k++) {
            vec2 d = vWorld.xz - blobs[k].xy;
            float f = max(0.0, 1.0 - dot(d, d) * blobs[k].z);
            lit *= 1.0 - blobs[k].w * f * f;
          }
          // the occlusion is meant in linear light; sqrt is a cheap stand-in for the sRGB curve
          c *= sqrt(lit);
        }
        #endif
        float fog = smoothstep(fogNear, fogFar, distance(cameraPosition, vWorld));
        // colours are already sRGB: no per-pixel transfer curve (three pow() per pixel on SwiftShader)
        gl_FragColor = vec4(mix(c, fogColor, fog), 1.0);
      }`,
  });
}

/**
 * The fast mode's shadow: soft dark discs on the floor under the body parts that come near it, darker
 * and tighter the closer they are (a contact shadow), computed inside the floor's own shader. It costs
 * a few multiply-adds on the floor pixels near the person instead of a whole extra shadow-map pass.
 * radius: metres at floor contact, growing with height; darkness at contact; fade: height where it is gone.
 */
const SHADOW_BLOBS: readonly { joint: string; radius: number; darkness: number; fade: number }[] = [
  { joint: 'pelvis', radius: 0.3, darkness: 0.7, fade: 3.0 },
  { joint: 'spine3', radius: 0.2, darkness: 0.5, fade: 1.8 },
  { joint: 'head', radius: 0.14, darkness: 0.55, fade: 1.2 },
  { joint: 'left_ankle', radius: 0.09, darkness: 0.85, fade: 0.55 },
  { joint: 'right_ankle', radius: 0.09, darkness: 0.85, fade: 0.55 },
  { joint: 'left_foot', radius: 0.08, darkness: 0.85, fade: 0.5 },
  { joint: 'right_foot', radius: 0.08, darkness: 0.85, fade: 0.5 },
  { joint: 'left_knee', radius: 0.08, darkness: 0.7, fade: 0.6 },
  { joint: 'right_knee', radius: 0.08, darkness: 0.7, fade: 0.6 },
  { joint: 'left_wrist', radius: 0.07, darkness: 0.65, fade: 0.6 },
  { joint: 'right_wrist', radius: 0.07, darkness: 0.65, fade: 0.6 },
];
/** How much a blob widens per metre of height: higher parts cast softer, wider shadows. */
const BLOB_SPREAD = 0.25;

interface Cell {
  joints: Float32Array;
  track: Float32Array;
  azimuthRad: number;
  captionAt: number[];
  label: string;
  trail: THREE.Mesh;
}

const BONES = PARENTS.map((p, j) => [p, j] as const).filter(([p]) => p >= 0);
const TRAIL_WIDTH = 0.035;

class Stage {
  readonly canvas = document.createElement('canvas');
  readonly renderer: THREE.WebGLRenderer;
  readonly scene = new THREE.Scene();
  readonly camera = new THREE.PerspectiveCamera(30, 1, 0.05, 80);
  readonly light = new THREE.DirectionalLight('#ffffff', 2.2);
  readonly bones: THREE.InstancedMesh;
  readonly joints: THREE.InstancedMesh;
  readonly heads: THREE.InstancedMesh;
  readonly overlay: Overlay;
  readonly shadowCatcher: THREE.Mesh;
  readonly floor: THREE.Mesh;
  private readonly m = new THREE.Matrix4();
  private readonly q = new THREE.Quaternion();
  private readonly v = new THREE.Vector3();
  private readonly s = new THREE.Vector3();
  private readonly yAxis = new THREE.Vector3(0, 1, 0);

  /**
   * fast: no MSAA and a contact shadow in the floor shader; high: 4× MSAA and a real 1024² shadow map
   * from the key light (a second render pass, several times the raster time on SwiftShader).
   */
  constructor(readonly high: boolean) {
    // never attached to the document: a displayed canvas makes the compositor redraw the page on
    // SwiftShader after every frame, work nobody sees
    this.renderer = new THREE.WebGLRenderer({
      canvas: this.canvas,
      antialias: high,
      powerPreference: 'high-performance',
    });
    this.renderer.setPixelRatio(1);
    this.renderer.shadowMap.enabled = high;
    this.renderer.shadowMap.type = THREE.PCFShadowMap;
    this.renderer.outputColorSpace = THREE.SRGBColorSpace;
    this.renderer.autoClear = false;
    this.scene.background = COLORS.background;
    this.scene.fog = new THREE.Fog(COLORS.background, FOG_NEAR, FOG_FAR);

    this.scene.add(new THREE.HemisphereLight('#f4f7ff', '#9a8f80', 1.35));
    this.light.castShadow = high;
    this.light.shadow.mapSize.setScalar(1024);
    this.light.shadow.radius = 3;
    this.light.shadow.bias = -0.0008;
    this.light.shadow.normalBias = 0.02;
    const sc = this.light.shadow.camera;
    sc.left = sc.bottom = -1.6;
    sc.right = sc.top = 1.6;
    sc.near = 0.5;
    sc.far = 12;
    this.scene.add(this.light, this.light.target);

    // the floor moves with the camera (its pattern is in world space), so it never ends on screen
    const floor = new THREE.Mesh(new THREE.PlaneGeometry(FOG_FAR * 2.2, FOG_FAR * 2.2), floorMaterial(!high));
    floor.rotation.x = -Math.PI / 2;
    this.floor = floor;
    this.scene.add(floor);
    this.shadowCatcher = new THREE.Mesh(
      new THREE.PlaneGeometry(1, 1),
      new THREE.ShadowMaterial({ opacity: 0.28, depthWrite: false }),
    );
    this.shadowCatcher.rotation.x = -Math.PI / 2;
    this.shadowCatcher.position.y = 0.001;
    this.shadowCatcher.scale.set(4, 4, 1);
    this.shadowCatcher.receiveShadow = true;
    this.shadowCatcher.visible = high;
    this.scene.add(this.shadowCatcher);

    // Lambert: the PBR material cost SwiftShader a third more per frame for no visible gain on matte limbs
    const body = new THREE.MeshLambertMaterial();
    // SwiftShader pays per triangle: fast mode's coarser tessellation saved ~13% of a frame's raster
    // time, and the smooth shading hides the facets at 512²
    const d = high ? { bone: 14, joint: [16, 12], head: [20, 14] } : { bone: 10, joint: [12, 8], head: [16, 10] };
    this.bones = new THREE.InstancedMesh(new THREE.CylinderGeometry(1, 1, 1, d.bone, 1, true), body, BONES.length);
    this.joints = new THREE.InstancedMesh(new THREE.SphereGeometry(1, d.joint[0], d.joint[1]), body, NJ);
    this.heads = new THREE.InstancedMesh(new THREE.SphereGeometry(1, d.head[0], d.head[1]), body, 2);
    for (const mesh of [this.bones, this.joints, this.heads]) {
      mesh.castShadow = high;
      mesh.frustumCulled = false;
      this.scene.add(mesh);
    }
    BONES.forEach(([, j], i) => this.bones.setColorAt(i, sideColour(j)));
    for (let j = 0; j < NJ; j++) this.joints.setColorAt(j, sideColour(j));
    this.heads.setColorAt(0, COLORS.head);
    this.heads.setColorAt(1, COLORS.nose);
    this.overlay = new Overlay();
  }

  resize(size: number): void {
    this.renderer.setSize(size, size, false);
    this.overlay.resize(size);
  }

  makeTrail(joints: Float32Array, frames: number): THREE.Mesh {
    // a flat ribbon on the floor under the pelvis; drawRange grows with time
    const pos = new Float32Array(frames * 2 * 3);
    for (let i = 0; i < frames; i++) {
      const x = joints[i * NJ * 3];
      const z = joints[i * NJ * 3 + 2];
      const k = Math.min(i + 1, frames - 1);
      const h = Math.max(i - 1, 0);
      let dx = joints[k * NJ * 3] - joints[h * NJ * 3];
      let dz = joints[k * NJ * 3 + 2] - joints[h * NJ * 3 + 2];
      const len = Math.hypot(dx, dz) || 1;
      dx /= len;
      dz /= len;
      pos.set(
        [x - dz * TRAIL_WIDTH, 0.003, z + dx * TRAIL_WIDTH, x + dz * TRAIL_WIDTH, 0.003, z - dx * TRAIL_WIDTH],
        i * 6,
      );
    }
    const index: number[] = [];
    for (let i = 0; i + 1 < frames; i++) index.push(i * 2, i * 2 + 1, i * 2 + 2, i * 2 + 1, i * 2 + 3, i * 2 + 2);
    const geo = new THREE.BufferGeometry();
    geo.setAttribute('position', new THREE.BufferAttribute(pos, 3));
    geo.setIndex(index);
    const mesh = new THREE.Mesh(
      geo,
      new THREE.MeshBasicMaterial({
        color: COLORS.trail,
        transparent: true,
        opacity: 0.55,
        side: THREE.DoubleSide,
        depthWrite: false,
      }),
    );
    mesh.frustumCulled = false;
    mesh.visible = false;
    this.scene.add(mesh);
    return mesh;
  }

  pose(joints: Float32Array, frame: number): void {
    const o = frame * NJ * 3;
    const p = (j: number) => this.v.set(joints[o + j * 3], joints[o + j * 3 + 1], joints[o + j * 3 + 2]);
    const radiusAt = new Array<number>(NJ).fill(0.03);
    BONES.forEach(([a, b], i) => {
      const r = BONE_RADIUS[NAMES[b]] ?? 0.04;
      radiusAt[a] = Math.max(radiusAt[a], a === J.spine3 || a === J.pelvis ? Math.min(r, 0.06) : r * 0.98);
      radiusAt[b] = Math.max(radiusAt[b], r * 0.98);
      const ax = joints[o + a * 3];
      const ay = joints[o + a * 3 + 1];
      const az = joints[o + a * 3 + 2];
      const dx = joints[o + b * 3] - ax;
      const dy = joints[o + b * 3 + 1] - ay;
      const dz = joints[o + b * 3 + 2] - az;
      const len = Math.hypot(dx, dy, dz);
      this.q.setFromUnitVectors(this.yAxis, this.s.set(dx, dy, dz).divideScalar(len || 1));
      this.m.compose(this.v.set(ax + dx / 2, ay + dy / 2, az + dz / 2), this.q, this.s.set(r, Math.max(len, 1e-4), r));
      this.bones.setMatrixAt(i, this.m);
    });
    this.q.identity();
    for (let j = 0; j < NJ; j++) {
      const r =
        j === J.pelvis || j === J.spine1 || j === J.spine2 || j === J.spine3
          ? (BONE_RADIUS[NAMES[j]] ?? 0.1)
          : radiusAt[j];
      this.m.compose(p(j), this.q, this.s.setScalar(j === J.pelvis ? 0.1 : r));
      this.joints.setMatrixAt(j, this.m);
    }
    // the head joint is the base of the skull: the head sits above it along the neck
    const nx = joints[o + J.head * 3] - joints[o + J.neck * 3];
    const ny = joints[o + J.head * 3 + 1] - joints[o + J.neck * 3 + 1];
    const nz = joints[o + J.head * 3 + 2] - joints[o + J.neck * 3 + 2];
    const nl = Math.hypot(nx, ny, nz) || 1;
    const hx = joints[o + J.head * 3] + (nx / nl) * 0.085;
    const hy = joints[o + J.head * 3 + 1] + (ny / nl) * 0.085;
    const hz = joints[o + J.head * 3 + 2] + (nz / nl) * 0.085;
    this.m.compose(this.v.set(hx, hy, hz), this.q, this.s.set(HEAD_RADIUS * 0.88, HEAD_RADIUS, HEAD_RADIUS * 0.92));
    this.heads.setMatrixAt(0, this.m);
    // a nose shows which way the person faces: forward = up × (right − left) of the shoulders
    const acx = joints[o + J.right_shoulder * 3] - joints[o + J.left_shoulder * 3];
    const acz = joints[o + J.right_shoulder * 3 + 2] - joints[o + J.left_shoulder * 3 + 2];
    const fl = Math.hypot(acx, acz) || 1;
    const fx = acz / fl;
    const fz = -acx / fl;
    this.m.compose(
      this.v.set(hx + fx * HEAD_RADIUS * 0.85, hy - 0.01, hz + fz * HEAD_RADIUS * 0.85),
      this.q,
      this.s.setScalar(0.028),
    );
    this.heads.setMatrixAt(1, this.m);
    this.bones.instanceMatrix.needsUpdate = true;
    this.joints.instanceMatrix.needsUpdate = true;
    this.heads.instanceMatrix.needsUpdate = true;
  }

  /** Places the fast mode's shadow discs under the joints of this frame (see SHADOW_BLOBS). */
  contactShadow(joints: Float32Array, frame: number): void {
    if (this.high) return;
    const u = (this.floor.material as THREE.ShaderMaterial).uniforms;
    const blobs = u.blobs.value as THREE.Vector4[];
    const o = frame * NJ * 3;
    const cx = joints[o];
    const cz = joints[o + 2];
    let reach = 0;
    SHADOW_BLOBS.forEach((b, k) => {
      const j = o + J[b.joint] * 3;
      const h = Math.max(0, joints[j + 1]);
      const r = b.radius + BLOB_SPREAD * h;
      blobs[k].set(joints[j], joints[j + 2], 1 / (r * r), b.darkness * Math.max(0, 1 - h / b.fade));
      reach = Math.max(reach, Math.hypot(joints[j] - cx, joints[j + 2] - cz) + r);
    });
    (u.blobBound.value as THREE.Vector3).set(cx, cz, reach * reach);
  }

  aim(cell: Cell, frame: number, job: SceneJob, aspect: number): void {
    const tx = cell.track[frame * 3];
    const ty = cell.track[frame * 3 + 1];
    const tz = cell.track[frame * 3 + 2];
    const el = (job.elevationDeg * Math.PI) / 180;
    const d = job.distance;
    this.camera.fov = job.fovDeg;
    this.camera.aspect = aspect;
    this.camera.near = Math.max(0.05, d * 0.05);
    this.camera.far = d + 30;
    this.camera.position.set(
      tx + d * Math.sin(cell.azimuthRad) * Math.cos(el),
      ty + d * Math.sin(el),
      tz + d * Math.cos(cell.azimuthRad) * Math.cos(el),
    );
    this.camera.lookAt(tx, ty, tz);
    this.floor.position.set(this.camera.position.x, 0, this.camera.position.z);
    this.camera.updateProjectionMatrix();
    // key light from above, front-left of the camera; its shadow box follows the person
    const px = cell.joints[frame * NJ * 3];
    const pz = cell.joints[frame * NJ * 3 + 2];
    const az = cell.azimuthRad + 0.9;
    this.light.position.set(px + 3 * Math.sin(az), 6, pz + 3 * Math.cos(az));
    this.light.target.position.set(px, 0.6, pz);
    this.shadowCatcher.position.set(px, 0.001, pz);
    this.light.target.updateMatrixWorld();
  }

  draw(job: SceneJob, cells: Cell[], frame: number): void {
    const size = job.size;
    const grid = cells.length > 1;
    this.renderer.setScissorTest(grid);
    cells.forEach((cell, i) => {
      const r = cellRect(i, cells.length, size);
      this.renderer.setViewport(r.x, r.y, r.w, r.h);
      if (grid) this.renderer.setScissor(r.x, r.y, r.w, r.h);
      for (const c of cells) c.trail.visible = c === cell;
      cell.trail.geometry.setDrawRange(0, Math.max(0, frame) * 6);
      this.pose(cell.joints, frame);
      this.contactShadow(cell.joints, frame);
      this.aim(cell, frame, job, r.w / r.h);
      this.renderer.clear();
      this.renderer.render(this.scene, this.camera);
    });
    this.renderer.setScissorTest(false);
    this.renderer.setViewport(0, 0, size, size);
    this.overlay.update(job, cells[0].captionAt[frame] ?? -1, job.frames > 1 ? frame / (job.frames - 1) : 1);
    this.renderer.clearDepth();
    this.renderer.render(this.overlay.scene, this.overlay.camera);
  }
}

/**
 * Where cell i of n sits, in GL viewport pixels (y up): one cell fills the picture, two split it into
 * left and right halves, four into quarters (0 top-left, 1 top-right, 2 bottom-left, 3 bottom-right).
 */
function cellRect(i: number, n: number, size: number): { x: number; y: number; w: number; h: number } {
  const half = size / 2;
  if (n === 1) return { x: 0, y: 0, w: size, h: size };
  if (n === 2) return { x: i * half, y: 0, w: half, h: size };
  return { x: (i % 2) * half, y: i < 2 ? half : 0, w: half, h: half };
}

/** Caption, time bar, labels and watermark, drawn in pixel units over the 3D picture. */
class Overlay {
  readonly scene = new THREE.Scene();
  readonly camera = new THREE.OrthographicCamera(0, 1, 1, 0, -1, 1);
  private size = 512;
  private readonly plane = new THREE.PlaneGeometry(1, 1).translate(0.5, 0.5, 0);
  private readonly captionCanvas = document.createElement('canvas');
  private readonly captionTex = new THREE.CanvasTexture(this.captionCanvas);
  private readonly captionMesh: THREE.Mesh;
  private readonly jobMeshes: THREE.Mesh[] = [];
  private readonly barBack: THREE.Mesh;
  private readonly barFill: THREE.Mesh;
  private caption = -2;

  constructor() {
    const plane = this.plane;
    const t = this.captionTex;
    t.colorSpace = THREE.SRGBColorSpace;
    t.minFilter = THREE.LinearFilter;
    t.generateMipmaps = false;
    this.captionMesh = new THREE.Mesh(
      plane,
      new THREE.MeshBasicMaterial({ map: t, transparent: true, depthTest: false, depthWrite: false }),
    );
    this.barBack = new THREE.Mesh(
      plane,
      new THREE.MeshBasicMaterial({ color: '#2b3340', transparent: true, opacity: 0.25, depthTest: false }),
    );
    this.barFill = new THREE.Mesh(plane, new THREE.MeshBasicMaterial({ color: '#3b6fb6', depthTest: false }));
    this.scene.add(this.captionMesh, this.barBack, this.barFill);
  }

  resize(size: number): void {
    this.size = size;
    this.camera.right = size;
    this.camera.top = size;
    this.camera.updateProjectionMatrix();
  }

  /**
   * Builds what does not change during a job: watermark, grid separators and labels. Each is its own
   * small quad; a full-screen transparent layer would cost SwiftShader a blend of every pixel per frame.
   */
  prepare(job: SceneJob, cells: Cell[]): void {
    const size = this.size;
    const u = size / 512;
    for (const m of this.jobMeshes.splice(0)) {
      this.scene.remove(m);
      (m.material as THREE.MeshBasicMaterial).map?.dispose();
      (m.material as THREE.Material).dispose();
    }
    const mark = this.textQuad(Math.round(84 * u), Math.round(18 * u), (g, w, h) => {
      g.font = `600 ${Math.round(12 * u)}px "DejaVu Sans", "Liberation Sans", sans-serif`;
      g.textAlign = 'right';
      g.textBaseline = 'middle';
      g.fillStyle = 'rgba(30,40,55,0.5)';
      g.fillText('charades', w - 2 * u, h / 2);
    });
    mark.position.set(size - Math.round(92 * u), Math.round(14 * u), 0);
    if (cells.length > 1) {
      const line = Math.max(2, Math.round(2 * u));
      const separators = [[line, size, size / 2 - line / 2, 0]];
      if (cells.length === 4) separators.push([size, line, 0, size / 2 - line / 2]);
      for (const [w, h, x, y] of separators) {
        const sep = new THREE.Mesh(this.plane, new THREE.MeshBasicMaterial({ color: '#ffffff', depthTest: false }));
        sep.scale.set(w, h, 1);
        sep.position.set(x, y, 0);
        this.add(sep);
      }
      const captioned = Boolean(job.title || job.captions.length);
      cells.forEach((cell, i) => {
        const r = cellRect(i, cells.length, size);
        const label = this.labelQuad(cell.label, u);
        const touchesTop = r.y + r.h >= size;
        const below = touchesTop && captioned ? 46 * u : 10 * u;
        label.position.set(r.x + 10 * u, r.y + r.h - below - label.scale.y, 0);
      });
    }
    this.caption = -2;
  }

  /** A dark pill with the cell's name: a circle for one character, wider for a name. */
  private labelQuad(text: string, u: number): THREE.Mesh {
    const d = Math.round(26 * u);
    const font = `700 ${Math.round(16 * u)}px "DejaVu Sans", sans-serif`;
    const probe = document.createElement('canvas').getContext('2d') as CanvasRenderingContext2D;
    probe.font = font;
    const w = Math.max(d, Math.ceil(probe.measureText(text).width + 16 * u));
    return this.textQuad(w, d, (g, cw, ch) => {
      g.fillStyle = 'rgba(25,35,50,0.8)';
      g.beginPath();
      g.roundRect(0, 0, cw, ch, ch / 2);
      g.fill();
      g.fillStyle = '#ffffff';
      g.font = font;
      g.textAlign = 'center';
      g.textBaseline = 'middle';
      g.fillText(text, cw / 2, ch / 2 + u);
    });
  }

  private add(mesh: THREE.Mesh): void {
    this.jobMeshes.push(mesh);
    this.scene.add(mesh);
  }

  /** A w×h pixel quad showing whatever `draw` paints on a canvas of the same size. */
  private textQuad(
    w: number,
    h: number,
    draw: (g: CanvasRenderingContext2D, w: number, h: number) => void,
  ): THREE.Mesh {
    const c = document.createElement('canvas');
    c.width = w;
    c.height = h;
    draw(c.getContext('2d') as CanvasRenderingContext2D, w, h);
    const tex = new THREE.CanvasTexture(c);
    tex.colorSpace = THREE.SRGBColorSpace;
    tex.minFilter = THREE.LinearFilter;
    tex.generateMipmaps = false;
    const mesh = new THREE.Mesh(
      this.plane,
      new THREE.MeshBasicMaterial({ map: tex, transparent: true, depthTest: false, depthWrite: false }),
    );
    mesh.scale.set(w, h, 1);
    this.add(mesh);
    return mesh;
  }

  update(job: SceneJob, caption: number, progress: number): void {
    const size = this.size;
    const u = size / 512;
    if (caption !== this.caption) {
      this.caption = caption;
      this.drawCaption(job, caption);
    }
    const bh = Math.max(3, Math.round(5 * u));
    const by = Math.round(6 * u);
    const margin = Math.round(10 * u);
    this.barBack.scale.set(size - 2 * margin, bh, 1);
    this.barBack.position.set(margin, by, 0);
    this.barFill.scale.set(Math.max(1e-3, (size - 2 * margin) * progress), bh, 1);
    this.barFill.position.set(margin, by, 0);
  }

  private drawCaption(job: SceneJob, caption: number): void {
    const size = this.size;
    const u = size / 512;
    const text = [job.title, caption >= 0 ? job.captions[caption] : ''].filter((t) => t).join(' — ');
    const h = Math.round(40 * u);
    const c = this.captionCanvas;
    c.width = size;
    c.height = h;
    const g = c.getContext('2d') as CanvasRenderingContext2D;
    g.clearRect(0, 0, size, h);
    this.captionMesh.visible = text.length > 0;
    if (!text) return;
    let px = Math.round(18 * u);
    const font = () => `600 ${px}px "DejaVu Sans", "Liberation Sans", sans-serif`;
    g.font = font();
    const maxWidth = size - 40 * u;
    while (px > 11 * u && g.measureText(text).width > maxWidth) {
      px -= 1;
      g.font = font();
    }
    let shown = text;
    while (shown.length > 1 && g.measureText(shown).width > maxWidth) shown = `${shown.slice(0, -2)}…`;
    const w = Math.min(size - 12 * u, g.measureText(shown).width + 24 * u);
    g.fillStyle = 'rgba(20,28,40,0.72)';
    const x0 = (size - w) / 2;
    const rr = 10 * u;
    g.beginPath();
    g.roundRect(x0, 4 * u, w, h - 8 * u, rr);
    g.fill();
    g.fillStyle = '#ffffff';
    g.textAlign = 'center';
    g.textBaseline = 'middle';
    g.fillText(shown, size / 2, h / 2 + u);
    this.captionTex.needsUpdate = true;
    this.captionMesh.scale.set(size, h, 1);
    this.captionMesh.position.set(0, size - h - 4 * u, 0);
  }
}

/** One stage per quality: MSAA is fixed when a WebGL context is created. */
const stages = new Map<boolean, Stage>();
let stage: Stage | null = null;

interface Active {
  job: SceneJob;
  cells: Cell[];
  next: number;
  result: SceneResult;
  encoder: VideoEncoder | null;
  chunks: Uint8Array[];
  encodeError: Error | null;
}
let active: Active | null = null;

const H264_CODECS = ['avc1.640028', 'avc1.4d0028', 'avc1.42002a', 'avc1.42001f'];

async function openEncoder(job: SceneJob, a: Active): Promise<VideoEncoder> {
  for (const codec of H264_CODECS) {
    const config: VideoEncoderConfig = {
      codec,
      width: job.size,
      height: job.size,
      bitrate: job.bitrate,
      framerate: job.fps,
      avc: { format: 'annexb' },
      latencyMode: 'realtime',
      bitrateMode: 'variable',
    };
    const support = await VideoEncoder.isConfigSupported(config).catch(() => ({ supported: false }));
    if (!support.supported) continue;
    const encoder = new VideoEncoder({
      output: (chunk) => {
        const bytes = new Uint8Array(chunk.byteLength);
        chunk.copyTo(bytes);
        a.chunks.push(bytes);
      },
      error: (e) => {
        a.encodeError = e instanceof Error ? e : new Error(String(e));
      },
    });
    encoder.configure(config);
    a.result.codec = codec;
    return encoder;
  }
  throw new Error(
    `this Chromium has no H.264 VideoEncoder for ${job.size}×${job.size} (tried ${H264_CODECS.join(', ')})`,
  );
}

function capturePng(canvas: HTMLCanvasElement): string {
  const url = canvas.toDataURL('image/png');
  return url.slice(url.indexOf(',') + 1);
}

async function drawFrame(a: Active, i: number): Promise<void> {
  const s = stage as Stage;
  const t0 = performance.now();
  s.draw(a.job, a.cells, i);
  const t1 = performance.now();
  a.result.timings.rasterMs += t1 - t0;
  if (i === a.job.thumbnailFrame) a.result.thumbnailPng = capturePng(s.canvas);
  if (a.job.pngFrames.includes(i)) a.result.pngFrames[i] = capturePng(s.canvas);
  a.result.timings.captureMs += performance.now() - t1;
}

/** Reused between frames: a 512² frame is 1 MiB, and allocating it per frame only feeds the GC. */
const pixels = { gl: new Uint8Array(0), upright: new Uint8Array(0) };

/**
 * The frame as a CPU-memory VideoFrame. Wrapping the canvas itself made Chromium copy the drawing
 * buffer and read it back through SwiftShader for the software encoder, about 13 ms of CPU per frame;
 * one readPixels into a reused buffer costs well under 1 ms. readPixels returns rows bottom-up, the
 * encoder wants them top-down, hence the row flip. Without a colour space the encoder treats RGB as
 * full range and writes yuvj420p; limited-range BT.709 gives the plain yuv420p players expect.
 * (Double-buffered async readback through pixel-pack buffers was measured too: no gain in wall time.)
 */
function pixelFrame(s: Stage, size: number, timestamp: number, duration: number): VideoFrame {
  const gl = s.renderer.getContext();
  const n = size * size * 4;
  if (pixels.gl.length !== n) {
    pixels.gl = new Uint8Array(n);
    pixels.upright = new Uint8Array(n);
  }
  gl.readPixels(0, 0, size, size, gl.RGBA, gl.UNSIGNED_BYTE, pixels.gl);
  const row = size * 4;
  for (let y = 0; y < size; y++)
    pixels.upright.set(pixels.gl.subarray((size - 1 - y) * row, (size - y) * row), y * row);
  return new VideoFrame(pixels.upright, {
    format: 'RGBX',
    codedWidth: size,
    codedHeight: size,
    timestamp,
    duration,
    colorSpace: { primaries: 'bt709', transfer: 'bt709', matrix: 'bt709', fullRange: false },
  });
}

async function encodeAll(a: Active): Promise<void> {
  const s = stage as Stage;
  const encoder = a.encoder as VideoEncoder;
  const usPerFrame = 1e6 / a.job.fps;
  for (let i = 0; i < a.job.frames; i++) {
    await drawFrame(a, i);
    const t = performance.now();
    const frame = pixelFrame(s, a.job.size, Math.round(i * usPerFrame), Math.round(usPerFrame));
    encoder.encode(frame, { keyFrame: i % (a.job.fps * 2) === 0 });
    frame.close();
    while (encoder.encodeQueueSize > 3)
      await new Promise((r) => encoder.addEventListener('dequeue', r, { once: true }));
    if (a.encodeError) throw a.encodeError;
    a.result.timings.captureMs += performance.now() - t;
  }
  const t = performance.now();
  await encoder.flush();
  encoder.close();
  if (a.encodeError) throw a.encodeError;
  const total = a.chunks.reduce((n, c) => n + c.byteLength, 0);
  const all = new Uint8Array(total);
  let off = 0;
  for (const c of a.chunks) {
    all.set(c, off);
    off += c.byteLength;
  }
  a.result.h264 = await bytesToBase64(all);
  a.result.timings.captureMs += performance.now() - t;
}

async function captureImage(a: Active): Promise<string> {
  const s = stage as Stage;
  if (a.job.transport === 'raw') {
    const gl = s.renderer.getContext();
    const px = new Uint8Array(a.job.size * a.job.size * 4);
    gl.readPixels(0, 0, a.job.size, a.job.size, gl.RGBA, gl.UNSIGNED_BYTE, px);
    return bytesToBase64(px);
  }
  const url = s.canvas.toDataURL(a.job.transport === 'jpeg' ? 'image/jpeg' : 'image/png', 0.92);
  return url.slice(url.indexOf(',') + 1);
}

const api = {
  /** Sets up a job: sizes the canvas, uploads the motion, opens the encoder. */
  async begin(job: SceneJob): Promise<void> {
    if (active && stage) for (const c of active.cells) disposeTrail(stage, c);
    const high = job.quality === 'high';
    let s = stages.get(high);
    if (!s) {
      s = new Stage(high);
      stages.set(high, s);
    }
    stage = s;
    s.resize(job.size);
    const cells: Cell[] = job.cells.map((c: CellJob) => {
      const joints = decodeF32(c.joints);
      const track = decodeF32(c.track);
      return {
        joints,
        track,
        azimuthRad: c.azimuthRad,
        captionAt: c.captionAt,
        label: c.label,
        trail: s.makeTrail(joints, job.frames),
      };
    });
    s.overlay.prepare(job, cells);
    const a: Active = {
      job,
      cells,
      next: 0,
      chunks: [],
      encodeError: null,
      encoder: null,
      result: {
        h264: '',
        codec: '',
        thumbnailPng: '',
        pngFrames: {},
        timings: { rasterMs: 0, captureMs: 0, totalMs: 0 },
      },
    };
    active = a;
    if (job.transport === 'webcodecs') a.encoder = await openEncoder(job, a);
  },

  /** Draws the next frames; image transports return them, WebCodecs keeps them and returns none. */
  async nextBatch(): Promise<BatchResult> {
    const a = active;
    if (!a) throw new Error('nextBatch() before begin()');
    const t0 = performance.now();
    if (a.encoder) {
      await encodeAll(a);
      a.next = a.job.frames;
      a.result.timings.totalMs += performance.now() - t0;
      return { frames: [], done: true };
    }
    const frames: string[] = [];
    const end = Math.min(a.job.frames, a.next + a.job.batchFrames);
    for (; a.next < end; a.next++) {
      await drawFrame(a, a.next);
      const t = performance.now();
      frames.push(await captureImage(a));
      a.result.timings.captureMs += performance.now() - t;
    }
    a.result.timings.totalMs += performance.now() - t0;
    return { frames, done: a.next >= a.job.frames };
  },

  finish(): SceneResult {
    const a = active;
    if (!a) throw new Error('finish() before begin()');
    return a.result;
  },
};

function disposeTrail(s: Stage, c: Cell): void {
  s.scene.remove(c.trail);
  c.trail.geometry.dispose();
  (c.trail.material as THREE.Material).dispose();
}

(window as unknown as { charades: typeof api }).charades = api;
document.title = 'charades-ready';
