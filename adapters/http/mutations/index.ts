// Every mutation by its name in `POST /v1/commands`.

import type { Static } from '@sinclair/typebox';
import type { COMMAND_INPUTS, CommandType } from '../schemas.ts';
import type { Mutation } from './mutation.ts';
import { commitMutation, fulfilMutation, releaseMutation, reserveMutation } from './reservations.ts';
import { disposeMutation, returnMutation } from './returns.ts';
import { saleMutation } from './sales.ts';
import {
  adjustMutation,
  countMutation,
  receiveMutation,
  setPolicyMutation,
  transferMutation,
  transferReceiptMutation,
} from './supply.ts';

export const MUTATIONS: { readonly [T in CommandType]: Mutation<Static<(typeof COMMAND_INPUTS)[T]>> } = {
  receive: receiveMutation,
  sale: saleMutation,
  reserve: reserveMutation,
  release: releaseMutation,
  commit: commitMutation,
  fulfil: fulfilMutation,
  return: returnMutation,
  dispose: disposeMutation,
  transfer: transferMutation,
  transferReceipt: transferReceiptMutation,
  adjust: adjustMutation,
  count: countMutation,
  setPolicy: setPolicyMutation,
};
