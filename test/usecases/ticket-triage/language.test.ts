import { z } from 'zod';
import { TicketClassification } from '../../../src/usecases/ticket-triage/agent';
import { normalizeLanguage } from '../../../src/usecases/ticket-triage/language';

const answer = {
  category: 'Hardware',
  priority: 'medium',
  confidence: 0.8,
  summary: 'The laptop does not start.',
  article: null,
  reply: 'We are looking into it.',
};

describe('ticket classifier language', () => {
  it.each([
    ['en', 'en'],
    ['EN', 'en'],
    ['en_US', 'en-us'],
    ['pt-BR', 'pt-br'],
    ['eng', 'en'],
    ['English', 'en'],
    ['german', 'de'],
    ['Deutsch', 'de'],
    ['français', 'fr'],
    ['Spanish (Spain)', 'es'],
  ])('reads %p as %p', (given, expected) => {
    expect(normalizeLanguage(given)).toBe(expected);
  });

  it.each([['Klingonese'], ['xq'], [''], [42], [null]])('answers "und" for %p, which names no language', (given) => {
    expect(normalizeLanguage(given)).toBe('und');
  });

  it('keeps a classification whose language the model wrote as a name', () => {
    const parsed = TicketClassification.parse({ ...answer, language: 'English' });
    expect(parsed.language).toBe('en');
    expect(TicketClassification.parse({ ...answer, language: 'gibberish words' }).language).toBe('und');
  });

  it('still tells the model (in the schema it is given) to answer with a code', () => {
    const schema = z.toJSONSchema(TicketClassification, { unrepresentable: 'any' }) as {
      properties: Record<string, { type?: string; pattern?: string }>;
    };
    expect(schema.properties.language?.type).toBe('string');
    expect(schema.properties.language?.pattern).toContain('[a-z]{2,3}');
  });
});
