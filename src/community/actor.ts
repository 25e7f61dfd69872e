/**
 * How the community features make videos outside the chat pipeline: a duel is two generations of one phrase
 * rendered side by side with neutral labels, a charades round is one generation rendered with no caption
 * (the phrase is the secret). Each generated clip is also scored with the automatic metrics the report shows:
 * the model's ONNX evaluator (text–motion cosine) and the foot-skate ratio.
 */
import type { Config } from '../config/index.js';
import type { GeneratorStage, RendererStage, Stages } from '../jobs/index.js';
import {
  createMotionTextScorer,
  footSkateRatio,
  liveVersionDir,
  makeMotion,
  parseMotionRequest,
} from '../motion/index.js';
import type { Motion, MotionRequest, MotionTextScorer } from '../motion/index.js';

export interface ClipSpec {
  text: string;
  seconds: number;
  seed: number;
  descriptions?: string[];
  guidance?: number;
}

export interface ClipMetrics {
  /** Evaluator cosine of the clip and the phrase; null when the model carries no evaluator. */
  similarity: number | null;
  footSkate: number | null;
}

export interface ActorOptions {
  /** The chat pipeline's generator when it runs in this process (shared, not closed here). */
  generator?: GeneratorStage;
  /** The chat pipeline's renderer when it runs in this process (shared, not closed here): one Chromium, not two. */
  renderer?: RendererStage;
  render: { size: number; fps: number };
  log?: (msg: string) => void;
}

export function clipRequest(spec: ClipSpec): MotionRequest {
  return parseMotionRequest({
    segments: [
      {
        text: spec.text,
        seconds: spec.seconds,
        ...(spec.descriptions?.length ? { descriptions: spec.descriptions } : {}),
      },
    ],
    samples: 1,
    seed: spec.seed,
    ...(spec.guidance !== undefined ? { guidance: spec.guidance } : {}),
  });
}

/** The same motion without its segment texts: the renderer captions segments, and the game's phrase is secret. */
export function uncaptioned(motion: Motion): Motion {
  return makeMotion({ ...motion, segments: [] });
}

export class Actor {
  private ownStages?: Promise<Stages>;
  private scorer?: Promise<MotionTextScorer | null>;

  constructor(
    private readonly config: Config,
    private readonly options: ActorOptions,
  ) {}

  /** One motion for one clip spec (sample 0 of the request). */
  async act(spec: ClipSpec): Promise<Motion> {
    const generator = await this.generatorStage();
    const motions = await generator.generate(clipRequest(spec));
    if (!motions.length) throw new Error(`the ${generator.name} generator returned no motion`);
    return motions[0];
  }

  /** Which generator makes the clips ('engine', 'retrieval', …). */
  async generatorName(): Promise<string> {
    return (await this.generatorStage()).name;
  }

  async renderSecret(motion: Motion): Promise<Buffer> {
    const renderer = await this.rendererStage();
    return renderer.render([uncaptioned(motion)], this.renderOptions());
  }

  /** Two motions left and right, labelled A and B; the caption is the (public) phrase of the duel. */
  async renderDuel(phrase: string, left: Motion, right: Motion): Promise<Buffer> {
    const renderer = await this.rendererStage();
    const caption = makeMotion({ ...left, segments: [{ text: phrase, start: 0, end: left.numFrames }] });
    return renderer.render([caption, uncaptioned(right)], { ...this.renderOptions(), labels: ['A', 'B'] });
  }

  private renderOptions(): { size: number; fps: number } {
    const { size, fps } = this.options.render;
    return { size, fps: fps === 30 ? 30 : 20 };
  }

  /**
   * Both sides of a duel are scored against the same text — the raw phrase — so the similarity says which
   * motion matches what people were asked to judge, not which side matched its own conditioning.
   */
  async measure(motion: Motion, phrase: string): Promise<ClipMetrics> {
    const footSkate = motion.numFrames >= 2 ? footSkateRatio(motion.joints, motion.numFrames, motion.fps) : null;
    const scorer = await this.scorerInstance();
    let similarity: number | null = null;
    if (scorer) {
      try {
        similarity = await scorer.similarity(motion, phrase);
      } catch (err) {
        this.options.log?.(`evaluator similarity failed: ${(err as Error).message}`);
      }
    }
    return { similarity, footSkate };
  }

  modelVersionOf(motion: Motion): string | null {
    return motion.provenance.modelVersion ?? (motion.provenance.source || null);
  }

  async close(): Promise<void> {
    const scorer = this.scorer;
    const own = this.ownStages;
    this.scorer = undefined;
    this.ownStages = undefined;
    await (await scorer?.catch(() => null))?.close();
    const stages = await own?.catch(() => undefined);
    if (stages) {
      await stages.renderer.close();
      await stages.generator.close?.();
      await stages.planner.close?.();
    }
  }

  /** Jobs run in BullMQ workers: this process then needs stages of its own for community clips (made on first use). */
  private stagesOfOwn(): Promise<Stages> {
    this.ownStages ??= import('../jobs/index.js').then(
      async ({ createStages }) => (await createStages(this.config)).stages,
    );
    return this.ownStages;
  }

  private async generatorStage(): Promise<GeneratorStage> {
    return this.options.generator ?? (await this.stagesOfOwn()).generator;
  }

  private async rendererStage(): Promise<RendererStage> {
    return this.options.renderer ?? (await this.stagesOfOwn()).renderer;
  }

  /** The LIVE model's evaluator; null (reported once) when there is no LIVE model or it carries no evaluator. */
  private scorerInstance(): Promise<MotionTextScorer | null> {
    this.scorer ??= (async () => {
      const dir = liveVersionDir(this.config.modelsDir);
      if (!dir) {
        this.options.log?.(`no LIVE model in ${this.config.modelsDir}: community clips get no evaluator similarity`);
        return null;
      }
      try {
        return await createMotionTextScorer(dir);
      } catch (err) {
        this.options.log?.(`no evaluator similarity: ${(err as Error).message}`);
        return null;
      }
    })();
    return this.scorer;
  }
}
