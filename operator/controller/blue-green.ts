/**
 * The glue between the pure blue/green engine (operator/rollout) and the
 * cluster: what the engine is told about the world (an Observation read from
 * the informer caches) and how its Layout becomes objects to apply.
 */
import type { V1Deployment, V1Service } from '@kubernetes/client-node';
import type { AuthService, Colour } from '../api/types.js';
import { COLOURS } from '../api/types.js';
import { CONTAINER_NAME, LABEL_COLOUR, LABEL_REVISION } from '../reconcile/meta.js';
import type { RenderedObject } from '../render.js';
import type { Layout, MeasurementResult, Observation } from '../rollout/index.js';
import type { DeploymentObservation } from '../rollout/observed.js';
import type { Caches } from './reconciler.js';

const isColour = (value: unknown): value is Colour => COLOURS.includes(value as Colour);

export function observeDeployment(live: V1Deployment | undefined): DeploymentObservation {
  if (!live) return { exists: false, specReplicas: 0, statusReplicas: 0, updatedReplicas: 0, readyReplicas: 0, availableReplicas: 0, generationObserved: true };
  const template = live.spec?.template;
  const revision = template?.metadata?.labels?.[LABEL_REVISION];
  const image = template?.spec?.containers.find((c) => c.name === CONTAINER_NAME)?.image;
  return {
    exists: true,
    ...(revision ? { revision } : {}),
    ...(image ? { image } : {}),
    specReplicas: live.spec?.replicas ?? 1,
    statusReplicas: live.status?.replicas ?? 0,
    updatedReplicas: live.status?.updatedReplicas ?? 0,
    readyReplicas: live.status?.readyReplicas ?? 0,
    availableReplicas: live.status?.availableReplicas ?? 0,
    generationObserved: (live.status?.observedGeneration ?? 0) >= (live.metadata?.generation ?? 0),
  };
}

interface TargetRef {
  spec?: { scaleTargetRef?: { name?: string }; targetRef?: { name?: string } };
  status?: { desiredReplicas?: number };
}

export interface ObserveInput {
  auth: AuthService;
  caches: Caches;
  desiredRevision: string;
  analysis: MeasurementResult | undefined;
}

/** Everything the engine needs to know, read from the caches (no API calls). */
export function observe({ auth, caches, desiredRevision, analysis }: ObserveInput): Observation {
  const namespace = auth.metadata.namespace!;
  const name = auth.metadata.name!;
  const deployment = (colour: Colour): DeploymentObservation => observeDeployment(caches.get<V1Deployment>('Deployment', namespace, `${name}-${colour}`));
  const service = caches.get<V1Service>('Service', namespace, name);
  const selectorColour = service?.spec?.selector?.[LABEL_COLOUR];
  const hpa = caches.get<TargetRef>('HorizontalPodAutoscaler', namespace, name);
  const vpa = caches.get<TargetRef>('VerticalPodAutoscaler', namespace, name);
  const colourOf = (target: string | undefined): Colour | undefined => {
    const suffix = target?.startsWith(`${name}-`) ? target.slice(name.length + 1) : undefined;
    return isColour(suffix) ? suffix : undefined;
  };
  const hpaColour = colourOf(hpa?.spec?.scaleTargetRef?.name);
  const vpaColour = colourOf(vpa?.spec?.targetRef?.name);
  const autoscalerColor = hpa && vpa ? (hpaColour === vpaColour ? hpaColour : undefined) : (hpaColour ?? vpaColour);
  // Without a metrics pipeline an HPA reports 0 desired replicas: that is "unknown", not "scale to nothing".
  const hpaDesired = hpa?.status?.desiredReplicas;
  return {
    desiredRevision,
    desiredImage: auth.spec.image,
    deployments: { blue: deployment('blue'), green: deployment('green') },
    ...(isColour(selectorColour) ? { serviceSelectorColor: selectorColour } : {}),
    ...(autoscalerColor ? { autoscalerColor } : {}),
    ...(hpaDesired !== undefined && hpaDesired > 0 ? { hpaDesiredReplicas: hpaDesired } : {}),
    ...(analysis ? { analysis } : {}),
  };
}

export interface ScaleOnly {
  colour: Colour;
  replicas: number;
}

/**
 * Turns the rendered steady state into what this pass applies, following the
 * engine's layout: Deployments per colour plan (an idle colour that does not
 * exist yet is created at 0 replicas), the stable Service only once
 * the engine names its colour, the autoscalers only on the colour it names.
 * A colour whose plan keeps an older template is only scaled (its template
 * cannot be rendered from the current spec).
 */
export function applyLayout(
  auth: AuthService,
  rendered: RenderedObject[],
  layout: Layout,
  renderAutoscalers: (colour: Colour) => RenderedObject[],
  observed: Observation,
): { objects: RenderedObject[]; scale: ScaleOnly[] } {
  const name = auth.metadata.name!;
  const scale: ScaleOnly[] = [];
  const objects: RenderedObject[] = [];
  for (const object of rendered) {
    if (object.kind === 'Deployment') {
      const colour = COLOURS.find((c) => object.metadata.name === `${name}-${c}`)!;
      const plan = layout.colours[colour];
      const live = observed.deployments[colour];
      if (!plan) {
        // The idle colour exists from the start, scaled to nothing, so both colours are always visible.
        if (!live.exists) objects.push({ ...object, spec: { ...(object as V1Deployment).spec!, replicas: 0 } } as RenderedObject);
        continue;
      }
      if (plan.template === 'keep') {
        if (live.exists && plan.replicas !== 'keep' && plan.replicas !== live.specReplicas) scale.push({ colour, replicas: plan.replicas });
        continue;
      }
      // 'keep' replicas: carry the live count, since leaving spec.replicas out of an apply that set it before resets it to 1.
      const replicas = plan.replicas === 'keep' ? (live.exists ? live.specReplicas : auth.spec.replicas) : plan.replicas;
      objects.push({ ...object, spec: { ...(object as V1Deployment).spec!, replicas } } as RenderedObject);
      continue;
    }
    if (object.kind === 'Service' && object.metadata.name === name) {
      if (layout.selector) objects.push(object);
      continue;
    }
    if (object.kind === 'HorizontalPodAutoscaler' || object.kind === 'VerticalPodAutoscaler') continue;
    objects.push(object);
  }
  if (layout.autoscalers) objects.push(...renderAutoscalers(layout.autoscalers));
  return { objects, scale };
}

