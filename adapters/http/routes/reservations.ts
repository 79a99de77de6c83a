// Reservations (ecommerce, OMS): hold at checkout with a time-to-live, commit when the order is placed,
// fulfil when it ships or is picked up, release on cancel or abandon.

import type { Static } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { AppServices } from '../app.ts';
import { requireLocations } from '../auth.ts';
import { HttpError, validationFailed } from '../errors.ts';
import { callerOf, runMutation, sendOutcome } from '../idempotency.ts';
import {
  commitMutation,
  fulfilMutation,
  releaseMutation,
  reserveMutation,
} from '../mutations/reservations.ts';
import { routeSchema } from '../route-schema.ts';
import { CreateReservation, Fulfil, Release, Reservation, ReservationParams } from '../schemas.ts';
import { reservationView } from '../views.ts';

export function reservationRoutes(services: AppServices): FastifyPluginAsync {
  const scopes = ['reservations:write'] as const;
  return async (app) => {
    app.post<{ Body: Static<typeof CreateReservation> }>(
      '/v1/reservations',
      {
        config: { scopes },
        schema: routeSchema({
          tag: 'reservations',
          summary: 'Hold stock for a cart or an order',
          description:
            '`mode` is `all-or-nothing` (default: every line is held or none) or `partial` (holds the lines it can; ' +
            'each line says `held` or `refused`). `ttlSeconds` defaults to 900. 429 RATE_LIMITED when the channel ' +
            'already holds as many open reservations as it may (STOCKLEDGER_OPEN_RESERVATIONS_PER_CHANNEL_MAX).',
          scopes,
          body: CreateReservation,
          responses: { 201: Reservation },
          errors: [409],
        }),
      },
      async (request, reply) =>
        sendOutcome(
          reply,
          await runMutation(services, reserveMutation, request.body, callerOf(request, 'http:reservations')),
        ),
    );

    app.get<{ Params: Static<typeof ReservationParams> }>(
      '/v1/reservations/:id',
      {
        config: { scopes: ['stock:read', 'reservations:write'] },
        schema: routeSchema({
          tag: 'reservations',
          summary: 'A reservation and its lines',
          scopes: ['stock:read', 'reservations:write'],
          params: ReservationParams,
          responses: { 200: Reservation },
          errors: [404],
        }),
      },
      async (request) => {
        const header = services.engine.reservationHeader(request.params.id);
        if (header === undefined || header.status === 'refused') {
          throw new HttpError('RESERVATION_NOT_FOUND', `no reservation ${request.params.id}`, {
            reservationId: request.params.id,
            ...(header === undefined ? {} : { state: 'refused' }),
          });
        }
        requireLocations(request.access, new Set(header.lines.map((line) => line.location)));
        return reservationView(header);
      },
    );

    app.post<{ Params: Static<typeof ReservationParams> }>(
      '/v1/reservations/:id/commit',
      {
        config: { scopes },
        schema: routeSchema({
          tag: 'reservations',
          summary: 'The order is placed: the hold no longer expires',
          description: 'No body. Committing a committed reservation answers the first commit again.',
          scopes,
          params: ReservationParams,
          responses: { 200: Reservation },
          // A body is still read (to refuse it), so one over the size limit is 413.
          errors: [404, 409, 413],
        }),
      },
      async (request, reply) => {
        // No body, or the empty object; nothing else (not null, not []: nothing is coerced).
        const body = request.body;
        if (
          body !== undefined &&
          !(
            typeof body === 'object' &&
            body !== null &&
            !Array.isArray(body) &&
            Object.keys(body).length === 0
          )
        ) {
          throw validationFailed([{ path: '', message: 'commit takes no body' }]);
        }
        const input = { reservationId: request.params.id };
        return sendOutcome(
          reply,
          await runMutation(services, commitMutation, input, callerOf(request, 'http:reservations')),
        );
      },
    );

    app.post<{ Params: Static<typeof ReservationParams>; Body: Static<typeof Fulfil> }>(
      '/v1/reservations/:id/fulfil',
      {
        config: { scopes },
        schema: routeSchema({
          tag: 'reservations',
          summary: 'Shipped or picked up: onHand and reserved both go down',
          description:
            'Without `lines`, everything the reservation still holds. Partial fulfilment is allowed.',
          scopes,
          params: ReservationParams,
          body: Fulfil,
          responses: { 200: Reservation },
          errors: [404, 409],
        }),
      },
      async (request, reply) => {
        const input = { reservationId: request.params.id, ...request.body };
        return sendOutcome(
          reply,
          await runMutation(services, fulfilMutation, input, callerOf(request, 'http:reservations')),
        );
      },
    );

    app.post<{ Params: Static<typeof ReservationParams>; Body: Static<typeof Release> }>(
      '/v1/reservations/:id/release',
      {
        config: { scopes },
        schema: routeSchema({
          tag: 'reservations',
          summary: 'Cancelled or abandoned: the held units come back',
          description:
            'Without `lines`, everything still held. Releasing an expired or released reservation is a no-op ' +
            'success; releasing a fulfilled quantity is 409 INVALID_STATE.',
          scopes,
          params: ReservationParams,
          body: Release,
          responses: { 200: Reservation },
          errors: [404, 409],
        }),
      },
      async (request, reply) => {
        const input = { reservationId: request.params.id, ...request.body };
        return sendOutcome(
          reply,
          await runMutation(services, releaseMutation, input, callerOf(request, 'http:reservations')),
        );
      },
    );
  };
}
