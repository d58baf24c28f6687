// The Services: `<name>` is the stable address clients use and follows the
// active colour; `<name>-blue` and `<name>-green` always reach their own colour,
// for the checks before a flip (the guide's blue-green script port-forwards to
// `service/…-<env>` port 80).
import type { V1Service, V1ServicePort } from '@kubernetes/client-node';
import type { AuthService, Colour } from '../api/types.js';
import { LABEL_COLOUR, colourSelectorLabels, commonLabels, names, objectMeta } from './meta.js';

/** Port the Services expose (the guide's `port-forward … 8080:80`); they forward to the container's `http` port. */
export const SERVICE_PORT = 80;

function ports(): V1ServicePort[] {
  return [{ name: 'http', port: SERVICE_PORT, targetPort: 'http', protocol: 'TCP' }];
}

/** Service `<name>`: selects the pods of `activeColour` only; flipping traffic is changing this selector. */
export function desiredService(auth: AuthService, activeColour: Colour): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: objectMeta(auth, names(auth).stable, commonLabels(auth)),
    spec: {
      type: 'ClusterIP',
      selector: colourSelectorLabels(auth, activeColour),
      ports: ports(),
    },
  };
}

/** Service `<name>-<colour>`: always that colour's pods. */
export function desiredColourService(auth: AuthService, colour: Colour): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: objectMeta(auth, names(auth).colour(colour), { ...commonLabels(auth), [LABEL_COLOUR]: colour }),
    spec: {
      type: 'ClusterIP',
      selector: colourSelectorLabels(auth, colour),
      ports: ports(),
    },
  };
}
